/**
 * What a socket error code means, in words an operator acts on. One table for
 * every connection ssw makes (SSH, the LXD API, first contact with a host);
 * callers add what is particular to their service (ECONNREFUSED's hint).
 */
export const NETWORK_ERROR_WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'connection closed by peer',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary DNS failure)',
};

/** The SSH reading of a socket error code. */
export const SSH_NETWORK_MESSAGES: Readonly<Record<string, string>> = {
  ...NETWORK_ERROR_WORDS,
  ECONNREFUSED: 'connection refused (is sshd running and listening on that port?)',
};
