import { FailureType } from '../../common/failure-types';
import { letsencryptPaths, type SiteCertPlan } from '../../common/tls/plan';

/**
 * Certbot's command lines and the reading of its failures. Pure: unit-tested
 * without a host. Every value here is a name, URL or path; certbot needs no
 * secret (the ACME account key is created and kept by certbot on the host).
 */

export type ChallengeMode =
  /** A web server answers on the HTTP port: certbot writes tokens into the webroot it serves. Zero downtime. */
  | { kind: 'webroot' }
  /** Nothing serves the HTTP port: certbot answers the challenge itself, briefly. */
  | { kind: 'standalone'; port: number };

export interface CertbotRequest {
  site: SiteCertPlan;
  dataPath: string;
  challenge: ChallengeMode;
  /** Replace the current certificate even though certbot would keep it (ssw already decided it is due). */
  forceRenewal: boolean;
  /** Where the ACME server's CA bundle was copied on the host (when ACME_CA_BUNDLE is set). */
  caBundleOnHost?: string;
}

/**
 * Writes stdin to `file` (creating `dir`), whole or not at all, readable by
 * everyone (0644) whatever the session's umask: certbot runs as root, but the
 * mode must not depend on how the host was set up.
 */
export function writePublicFileArgv(dir: string, file: string): string[] {
  return ['sh', '-c', 'mkdir -p "$1" && cat > "$2.tmp" && chmod 0644 "$2.tmp" && mv -f "$2.tmp" "$2"', 'sh', dir, file];
}

export function certbotArgv(req: CertbotRequest): string[] {
  const p = letsencryptPaths(req.dataPath, req.site.domain);
  const env = req.caBundleOnHost ? ['env', `REQUESTS_CA_BUNDLE=${req.caBundleOnHost}`] : [];
  const challenge =
    req.challenge.kind === 'webroot'
      ? ['--webroot', '--webroot-path', p.webroot]
      : ['--standalone', '--preferred-challenges', 'http-01', '--http-01-port', String(req.challenge.port)];
  return [
    ...env,
    'certbot',
    'certonly',
    '--non-interactive',
    '--agree-tos',
    '--no-eff-email',
    '--email',
    req.site.contactEmail,
    '--server',
    req.site.acmeServer,
    '--config-dir',
    p.configDir,
    '--work-dir',
    p.workDir,
    '--logs-dir',
    p.logsDir,
    '--key-type',
    'ecdsa',
    '--elliptic-curve',
    'secp256r1',
    '--cert-name',
    req.site.domain,
    '--expand',
    ...(req.forceRenewal ? ['--force-renewal'] : []),
    ...challenge,
    ...req.site.names.flatMap((n) => ['-d', n]),
  ];
}

export interface CertbotFailure {
  type: string;
  retryable: boolean;
  message: string;
}

/** One "Domain/Type/Detail" block of certbot's "The Certificate Authority reported these problems". */
export interface AcmeProblem {
  domain: string;
  type: string;
  detail: string;
}

export function parseAcmeProblems(text: string): AcmeProblem[] {
  const out: AcmeProblem[] = [];
  const re = /Domain:\s*(\S+)\s*\n\s*Type:\s*(\S+)\s*\n\s*Detail:\s*(.+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ domain: m[1]!, type: m[2]!, detail: m[3]!.trim() });
  return out;
}

const VALIDATION_TYPES = ['connection', 'dns', 'unauthorized', 'incorrectResponse', 'caa', 'tls'];

/**
 * Turns certbot's output (plus the tail of its log, where Debian's certbot 2.1
 * may hide the real error behind "AttributeError: can't set attribute") into
 * a failure an operator can act on. Unknown failures are not retried: each
 * failed attempt counts against the CA's failed-validation limit.
 */
export function classifyCertbotFailure(
  domain: string,
  acmeServer: string,
  output: string,
  logTail: string,
): CertbotFailure {
  const text = `${output}\n${logTail}`;
  const problems = parseAcmeProblems(text);
  const server = new URL(acmeServer).host;
  if (/rateLimited|too many (certificates|failed authorizations|new orders|registrations)|rate limit/i.test(text)) {
    const detail = /(too many [^\n]*|rate limit[^\n]*)/i.exec(text)?.[1] ?? 'rate limit reached';
    return {
      type: FailureType.AcmeRateLimited,
      retryable: false,
      message: `${server} refused to issue a certificate for ${domain}: ${detail.trim()}. Wait until the limit resets before trying again (ACME_SERVER=staging for testing).`,
    };
  }
  const validation = problems.filter((p) => VALIDATION_TYPES.includes(p.type));
  if (
    validation.length > 0 ||
    /urn:ietf:params:acme:error:(connection|dns|unauthorized|incorrectResponse|caa)/.test(text)
  ) {
    const lines = validation.length
      ? validation.map((p) => `${p.domain} (${p.type}): ${p.detail}`).join('; ')
      : (/urn:ietf:params:acme:error:\w+[^\n]*/.exec(text)?.[0] ?? 'validation failed');
    return {
      type: FailureType.AcmeValidation,
      retryable: false,
      message: `${server} could not validate the certificate names of ${domain}: ${lines}. Check that each name's DNS points at the www host and that port 80 reaches it.`,
    };
  }
  const rejected =
    /urn:ietf:params:acme:error:(rejectedIdentifier|malformed|invalidContact|unsupportedContact|unsupportedIdentifier)[^\n]*/.exec(
      text,
    );
  if (
    rejected ||
    /Requested domain \S+ is not a FQDN|not a valid domain|Invalid identifiers requested|policy forbids/i.test(text)
  ) {
    const detail =
      rejected?.[0] ??
      /(Requested domain[^\n]*|[^\n]*not a valid domain[^\n]*|Invalid identifiers requested[^\n]*|[^\n]*policy forbids[^\n]*)/i.exec(
        text,
      )?.[0];
    return {
      type: FailureType.AcmeRejected,
      retryable: false,
      message: `${server} refused the certificate order for ${domain}: ${(detail ?? 'rejected').trim()}.`,
    };
  }
  if (/Another instance of Certbot is already running/i.test(text)) {
    return {
      type: FailureType.AcmeUnreachable,
      retryable: true,
      message: `Another certbot is running for ${domain} on the host; will try again.`,
    };
  }
  if (
    /Connection refused|Max retries exceeded|timed out|Temporary failure in name resolution|Name or service not known|badNonce|Service Unavailable|50[234] |RemoteDisconnected|Connection reset/i.test(
      text,
    )
  ) {
    const detail =
      /[^\n]*(Connection refused|Max retries exceeded|timed out|Temporary failure in name resolution|Name or service not known|badNonce|Service Unavailable|50[234] |RemoteDisconnected|Connection reset)[^\n]*/i.exec(
        text,
      )?.[0];
    return {
      type: FailureType.AcmeUnreachable,
      retryable: true,
      message: `Could not talk to the ACME server ${server} for ${domain}: ${(detail ?? '').trim()}`,
    };
  }
  if (/CERTIFICATE_VERIFY_FAILED|SSLError/i.test(text)) {
    return {
      type: FailureType.Config,
      retryable: false,
      message: `The TLS certificate of the ACME server ${server} is not trusted on the www host. For a private ACME CA set ACME_CA_BUNDLE to its CA file (on this machine; ssw copies it to the host).`,
    };
  }
  const last = lastMeaningfulLines(text);
  return { type: FailureType.CommandFailed, retryable: false, message: `certbot failed for ${domain}:\n${last}` };
}

/** The last few lines worth reading (certbot ends with boilerplate about the community forum). */
function lastMeaningfulLines(text: string, n = 8): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l && !/community\.letsencrypt\.org|Saving debug log|re-run Certbot with -v/i.test(l))
    .slice(-n)
    .join('\n');
}
