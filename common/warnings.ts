/**
 * Warnings about the operator's files that do not stop a command (a
 * site.conf others can read, a key ssw ignores): one line on stderr, once
 * per process and subject, so a worker that loads the same config for every
 * activity does not repeat itself.
 */
const said = new Set<string>();

export function warnOnce(subject: string, text: string): void {
  if (said.has(subject)) return;
  said.add(subject);
  process.stderr.write(`ssw: warning: ${text}\n`);
}
