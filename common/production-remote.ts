/**
 * A remote whose name contains "prod" is production (as in Sovereign Stack):
 * changing it needs the operator's explicit --yes. Pure: the CLI refuses before
 * starting, and the workflow refuses again as its first step (a run started
 * some other way gets the same guard).
 */
export function isProductionRemote(remote: string): boolean {
  return remote.toLowerCase().includes('prod');
}
