import { endpointInfo, type QualysEndpoint } from './endpoints';
import { QualysError } from './errors';

export interface NetworkErrorContext {
  endpoint: QualysEndpoint;
  /** Host (and port) we were talking to. */
  host: string;
  /** The host is one of the known Qualys platform API hosts (so it certainly exists). */
  knownPlatformHost: boolean;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

/** Certificate problems never heal by retrying; they need a CA bundle (TLS-inspecting proxy) or a fixed URL. */
const certificateCodes = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Maps a transport failure (undici or Node socket/DNS/TLS error) to a `network` QualysError.
 *
 * Retryability: resets, refusals, timeouts and temporary DNS failures are retryable. Two cases are
 * not, because waiting cannot fix them: an unknown host name (ENOTFOUND) that is not one of the
 * Qualys platform hosts — that is a typo in the URL — and TLS certificate verification failures.
 * ENOTFOUND for a known platform host means the resolver is failing (e.g. no route to public DNS),
 * which can recover, so it stays retryable.
 */
export function networkError(error: unknown, context: NetworkErrorContext): QualysError {
  const code = errorCode(error);
  const title = endpointInfo[context.endpoint].title;
  const reason = errorMessage(error);
  const base = { kind: 'network' as const, endpoint: context.endpoint, networkCode: code, cause: error };
  const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

  switch (code) {
    case 'ENOTFOUND':
      return context.knownPlatformHost
        ? new QualysError({
            ...base,
            message: `DNS lookup of ${context.host} failed while calling ${title} (ENOTFOUND).`,
            fix: 'The host is a Qualys platform host, so the DNS resolver or network is failing; check name resolution from the worker.',
          })
        : new QualysError({
            ...base,
            retryable: false,
            message: `The host name ${context.host} does not exist (DNS lookup failed while calling ${title}).`,
            fix: 'Check the API URL for typos; it should be your platform\'s API host, e.g. qualysapi.qg2.apps.qualys.com.',
          });
    case 'EAI_AGAIN':
      return new QualysError({
        ...base,
        message: `DNS lookup of ${context.host} failed temporarily while calling ${title} (EAI_AGAIN).`,
        fix: 'Usually transient; check the DNS resolver if it persists.',
      });
    case 'ECONNREFUSED':
      return new QualysError({
        ...base,
        message: `${context.host} refused the connection while calling ${title} (ECONNREFUSED).`,
        fix: 'Check the API URL and port, and that a firewall or proxy allows outbound HTTPS to Qualys.',
      });
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return new QualysError({
        ...base,
        message: `The connection to ${context.host} was closed before ${title} finished answering (${code}).`,
        fix: 'Usually transient (Qualys or a proxy dropped the connection); the call can be retried. If it recurs on large pages, use smaller ID ranges.',
      });
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return new QualysError({
        ...base,
        message: `Connecting to ${context.host} timed out after ${seconds(context.connectTimeoutMs)} while calling ${title}.`,
        fix: 'Check network reachability of the Qualys API host (firewall, proxy settings HTTPS_PROXY / NO_PROXY).',
      });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new QualysError({
        ...base,
        message: `${title} did not start answering within ${seconds(context.headersTimeoutMs)}.`,
        fix: 'Qualys can be slow on large requests: use smaller ID ranges, or raise the headers timeout.',
      });
    case 'UND_ERR_BODY_TIMEOUT':
      return new QualysError({
        ...base,
        message: `${title} stopped sending its response for more than ${seconds(context.bodyTimeoutMs)}.`,
        fix: 'Usually transient; if it recurs, use smaller ID ranges or raise the body timeout.',
      });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return new QualysError({
        ...base,
        message: `${context.host} is unreachable from this worker (${code}) while calling ${title}.`,
        fix: 'Check the worker\'s network route to Qualys, or set HTTPS_PROXY if outbound traffic must use a proxy.',
      });
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return new QualysError({
        ...base,
        retryable: false,
        message: `The Qualys client was closed before ${title} was called.`,
        fix: 'Create a new client; close() ends a client for good.',
      });
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return new QualysError({
        ...base,
        retryable: false,
        message: `TLS handshake with ${context.host} failed (${code}) while calling ${title}: the server does not speak HTTPS on that port.`,
        fix: 'Check the scheme and port of the API URL.',
      });
    default:
      break;
  }

  if (code !== undefined && certificateCodes.has(code)) {
    return new QualysError({
      ...base,
      retryable: false,
      message: `The TLS certificate of ${context.host} could not be verified (${code}) while calling ${title}.`,
      fix: 'If a TLS-inspecting proxy sits between the worker and Qualys, add its CA certificate (PEM) as caFile. Never disable verification.',
    });
  }
  const proxyStatus = /Proxy response \((\d{3})\)/.exec(reason)?.[1];
  if (proxyStatus !== undefined) {
    return new QualysError({
      ...base,
      retryable: proxyStatus !== '407' && proxyStatus !== '403',
      message: `The HTTP proxy refused to connect to ${context.host} (proxy answered ${proxyStatus}) while calling ${title}.`,
      fix:
        proxyStatus === '407'
          ? 'The proxy requires authentication: put credentials in the proxy URL (http://user:password@proxy:port).'
          : 'Check the proxy settings (HTTPS_PROXY / NO_PROXY) and that the proxy allows the Qualys API host.',
    });
  }
  return new QualysError({
    ...base,
    message: `Network error while calling ${title} on ${context.host}${code ? ` (${code})` : ''}: ${reason}`,
    fix: 'Usually transient; the call can be retried. Check connectivity to Qualys if it persists.',
  });
}

/** The first error code found on the error, its causes, or (happy eyeballs) its aggregated errors. */
export function errorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof record.code === 'string' && record.code !== 'UND_ERR' && record.code !== 'UND_ERR_ABORTED') {
    return record.code;
  }
  const fromCause = errorCode(record.cause, depth + 1);
  if (fromCause !== undefined) return fromCause;
  if (Array.isArray(record.errors)) {
    for (const inner of record.errors) {
      const code = errorCode(inner, depth + 1);
      if (code !== undefined) return code;
    }
  }
  return typeof record.code === 'string' ? record.code : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
