/** Defaults shared by CLI and worker; a dependency-free module so `ssw --help` stays fast. */
export const DEFAULT_TASK_QUEUE = 'ss';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
