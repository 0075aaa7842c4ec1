import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { EnvHttpProxyAgent, Pool, ProxyAgent, type Dispatcher } from 'undici';
import { isLoopbackHost } from './base-url';
import { QualysConfigError } from './errors';

export interface HttpTimeouts {
  /** TCP + TLS connect. */
  connectMs: number;
  /** From request sent to response headers (Qualys may think for minutes on big pages). */
  headersMs: number;
  /** Longest pause between two body chunks. */
  bodyMs: number;
}

export const defaultTimeouts: Readonly<HttpTimeouts> = {
  connectMs: 10_000,
  headersMs: 300_000,
  bodyMs: 300_000,
};

export interface DispatcherOptions {
  timeouts: HttpTimeouts;
  /** PEM bundle trusted in addition to Node's default roots (e.g. a TLS-inspecting proxy's CA). */
  caFile?: string;
  /** Explicit proxy; otherwise HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case) from the environment. */
  proxyUrl?: string;
}

/**
 * One keep-alive connection pool for the platform's origin, through a proxy when configured.
 * Loopback origins (the simulator, tests) are never proxied, as in most HTTP clients.
 */
export function createDispatcher(origin: URL, options: DispatcherOptions): Dispatcher {
  const ca = options.caFile === undefined ? undefined : loadCaBundle(options.caFile);
  const tls = { timeout: options.timeouts.connectMs, ...(ca ? { ca } : {}) };
  const common = {
    connect: tls,
    headersTimeout: options.timeouts.headersMs,
    bodyTimeout: options.timeouts.bodyMs,
  };

  if (isLoopbackHost(origin.hostname)) return new Pool(origin.origin, common);
  if (options.proxyUrl !== undefined && options.proxyUrl !== '') {
    // requestTls: the TLS session to Qualys inside the CONNECT tunnel; proxyTls: to an https:// proxy.
    return new ProxyAgent({ ...common, uri: options.proxyUrl, requestTls: tls, proxyTls: tls });
  }
  return new EnvHttpProxyAgent({ ...common, requestTls: tls, proxyTls: tls });
}

/** Node's default roots plus the extra bundle: adding a CA must not drop the public ones. */
function loadCaBundle(caFile: string): string[] {
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new QualysConfigError(
      `The CA bundle file ${caFile} cannot be read (${reason}).`,
      'Point caFile at a readable PEM file holding the extra CA certificate(s), or remove the setting.',
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new QualysConfigError(
      `The CA bundle file ${caFile} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line).`,
      'Export the CA certificate in PEM (Base64) format, not DER.',
    );
  }
  return [...rootCertificates, pem];
}
