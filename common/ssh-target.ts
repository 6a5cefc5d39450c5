/**
 * How ssw reaches a host over SSH: the one shape every layer shares (plans in
 * common/, the SSH activities, the CLI). Pure data; the connecting lives in
 * activities/ssh.
 */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** An unencrypted OpenSSH/PEM private key on the management machine. */
  privateKeyPath?: string;
  /** Also offer the keys of the ssh-agent at `$SSH_AUTH_SOCK` (how encrypted keys are used). */
  useAgent?: boolean;
}
