import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { createDispatcher, type HttpTimeouts } from './dispatcher';
import { endpointInfo, type QualysEndpoint } from './endpoints';
import { QualysError, isQualysError } from './errors';
import type { ResponseHeaders } from './limits';
import { networkError } from './network-error';

export interface QualysHttpOptions {
  /** Resolved base URL (see resolveApiBaseUrl). */
  baseUrl: string;
  /** The host is a known Qualys platform API host (affects DNS error retryability). */
  knownPlatformHost: boolean;
  username: string;
  password: string;
  userAgent: string;
  timeouts: HttpTimeouts;
  caFile?: string;
  proxyUrl?: string;
  /** Refuse bodies larger than this (decompressed). */
  maxBodyBytes?: number;
}

export interface HttpExchange {
  status: number;
  headers: ResponseHeaders;
  body: string;
}

/** Far above a sane page (1000 hosts with show_results=0); below V8's string limit (~512 MiB). */
const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;

// Qualys requires the header on API v2 (CSRF protection) and any value works; sent on QPS too.
const REQUESTED_WITH = 'qualys-exposure-connector';

/**
 * The HTTP transport: POSTs to one Qualys platform over a keep-alive pool, with Basic auth, the
 * headers Qualys wants, timeouts, proxy and CA settings. Returns status, headers and the whole body;
 * deciding what a response means is the caller's job. Transport failures become `network` errors.
 */
export class QualysHttp {
  readonly #dispatcher: Dispatcher;
  // Private fields: the credentials never show up in util.inspect, JSON or error objects.
  readonly #authorization: string;
  readonly #origin: URL;
  readonly #basePath: string;
  readonly #options: QualysHttpOptions;

  constructor(options: QualysHttpOptions) {
    const url = new URL(options.baseUrl);
    this.#origin = new URL(url.origin);
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#options = { ...options, password: '' };
    this.#authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`, 'utf8').toString('base64')}`;
    this.#dispatcher = createDispatcher(this.#origin, {
      timeouts: options.timeouts,
      caFile: options.caFile,
      proxyUrl: options.proxyUrl,
    });
  }

  /** POSTs `body` to the endpoint: form-encoded for API v2 (long `ids` lists fit), XML for QPS. */
  async post(endpoint: QualysEndpoint, body: string, signal?: AbortSignal): Promise<HttpExchange> {
    const info = endpointInfo[endpoint];
    const headers: Record<string, string> = {
      authorization: this.#authorization,
      'x-requested-with': REQUESTED_WITH,
      'user-agent': this.#options.userAgent,
      'accept-encoding': 'gzip, deflate',
      'content-type':
        info.family === 'qps' ? 'text/xml; charset=UTF-8' : 'application/x-www-form-urlencoded; charset=UTF-8',
    };
    // QPS answers JSON when asked; pin XML. API v2 always answers XML.
    if (info.family === 'qps') headers.accept = 'application/xml';

    try {
      const response = await this.#dispatcher.request({
        origin: this.#origin.origin,
        path: `${this.#basePath}${info.path}`,
        method: 'POST',
        headers,
        body,
        signal,
      });
      const responseHeaders = flattenHeaders(response.headers);
      const text = await readBody(
        response.body,
        responseHeaders['content-encoding'],
        this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        endpoint,
        response.statusCode,
      );
      return { status: response.statusCode, headers: responseHeaders, body: text };
    } catch (error) {
      // Cancellation is the caller's decision, not a Qualys failure: surface the caller's reason.
      if (signal?.aborted) throw signal.reason ?? error;
      if (isQualysError(error)) throw error;
      throw networkError(error, {
        endpoint,
        host: this.#origin.host,
        knownPlatformHost: this.#options.knownPlatformHost,
        connectTimeoutMs: this.#options.timeouts.connectMs,
        headersTimeoutMs: this.#options.timeouts.headersMs,
        bodyTimeoutMs: this.#options.timeouts.bodyMs,
      });
    }
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

async function readBody(
  body: Readable,
  contentEncoding: string | undefined,
  maxBytes: number,
  endpoint: QualysEndpoint,
  httpStatus: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes) {
        done(tooLarge(endpoint, httpStatus, maxBytes));
        return;
      }
      chunks.push(chunk);
      done();
    },
  });

  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (decoder === undefined && encoding !== 'identity' && encoding !== '') {
    body.destroy();
    throw new QualysError({
      kind: 'malformed-response',
      endpoint,
      httpStatus,
      message: `${endpointInfo[endpoint].title} answered with an unsupported Content-Encoding "${encoding}".`,
    });
  }

  try {
    if (decoder) await pipeline(body, decoder, sink);
    else await pipeline(body, sink);
  } catch (error) {
    if (isZlibError(error)) {
      throw new QualysError({
        kind: 'malformed-response',
        endpoint,
        httpStatus,
        message: `${endpointInfo[endpoint].title} sent a compressed body that could not be decompressed (${
          (error as { code: string }).code
        }); it was probably cut off in transit.`,
        fix: 'Usually a dropped connection; the call can be retried.',
        cause: error,
      });
    }
    throw error;
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function tooLarge(endpoint: QualysEndpoint, httpStatus: number, maxBytes: number): QualysError {
  return new QualysError({
    kind: 'malformed-response',
    retryable: false,
    endpoint,
    httpStatus,
    message: `${endpointInfo[endpoint].title} sent more than ${Math.round(maxBytes / 1024 / 1024)} MiB; the response was abandoned.`,
    fix: 'Use smaller host ID ranges or a lower truncation limit, and keep show_results off.',
  });
}

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('Z_') || code === 'ERR_BROTLI_DECOMPRESSION_FAILED');
}
