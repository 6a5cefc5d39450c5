/**
 * Ctrl-C handling for the foreground services (server, worker, codec, dev):
 * the first SIGINT/SIGTERM shuts down cleanly; a second one exits at once.
 * Resolves with the signal's name.
 */
export function waitForShutdownSignal(onSecond: () => void = () => process.exit(130)): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const handler = (sig: NodeJS.Signals) => {
      if (seen) return onSecond();
      seen = true;
      resolve(sig);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
