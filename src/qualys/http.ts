import { type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { createDispatcher, type HttpTimeouts } from './dispatcher';
import { endpointInfo, type QualysEndpoint } from './endpoints';
import { QualysError, isQualysError } from './errors';
import type { ResponseHeaders } from './limits';
import { errorCode, networkError } from './network-error';

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

/**
 * A response whose headers have arrived; its body is read once, either as chunks of bytes as they
 * arrive (decompressed; decoding text is the XML reader's, which knows the declared encoding) or all at
 * once. Failures while reading are QualysErrors like the request's own.
 */
export interface HttpResponse {
  status: number;
  headers: ResponseHeaders;
  chunks(): AsyncGenerator<Uint8Array, void, undefined>;
  bytes(): Promise<Buffer>;
  /** Drops a body nobody will read, freeing the connection. */
  discard(): void;
  /** Body bytes read so far (after decompression). */
  bytesRead(): number;
}

/** Far above a sane page (1000 hosts with show_results=0): a body larger than this is refused as it arrives. */
const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;

// Qualys requires the header on API v2 (CSRF protection) and any value works; sent on QPS too.
const REQUESTED_WITH = 'qualys-exposure-connector';

/**
 * The HTTP transport: POSTs to one Qualys platform over a keep-alive pool, with Basic auth, the
 * headers Qualys wants, timeouts, proxy and CA settings. Returns status and headers, and the body as it
 * arrives; deciding what a response means is the caller's job. Transport failures become `network` errors.
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

  /** POSTs `body` to the endpoint: form-encoded for API v2 (long `ids` lists fit), XML for QPS. Resolves once the headers are in. */
  async open(endpoint: QualysEndpoint, body: string, signal?: AbortSignal): Promise<HttpResponse> {
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

    const send = (): Promise<Dispatcher.ResponseData> =>
      this.#dispatcher.request({ origin: this.#origin.origin, path: `${this.#basePath}${info.path}`, method: 'POST', headers, body, signal });
    let response: Dispatcher.ResponseData;
    try {
      response = await send();
    } catch (error) {
      if (!diedBeforeAnswering(error) || signal?.aborted) throw this.#failure(error, endpoint, signal);
      // A kept-alive connection the server closed while it sat idle fails the next request sent on it
      // before a byte of answer (the server's idle timer starts when it has written a body, which a
      // slow reader may still be reading seconds later). Sent again at once on a new connection, as
      // curl and browsers do; a second failure is the call's.
      try {
        response = await send();
      } catch (again) {
        throw this.#failure(again, endpoint, signal);
      }
    }
    const status = response.statusCode;
    const responseHeaders = flattenHeaders(response.headers);
    const maxBytes = this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    let read = false;
    let size = 0;
    const chunks = async function* (this: QualysHttp): AsyncGenerator<Uint8Array, void, undefined> {
      if (read) throw new Error('a response body can be read only once');
      read = true;
      const source = decoded(response.body, responseHeaders['content-encoding'], endpoint, status);
      try {
        for await (const chunk of source) {
          const bytes = chunk as Buffer;
          size += bytes.length;
          if (size > maxBytes) throw tooLarge(endpoint, status, maxBytes);
          if (bytes.length > 0) yield bytes;
        }
      } catch (error) {
        throw this.#failure(error, endpoint, signal, status);
      } finally {
        // Stopped early (an error, or a reader that gave up): the connection must not wait for the rest.
        source.destroy();
        if (source !== response.body) response.body.destroy();
      }
    }.bind(this);
    return {
      status,
      headers: responseHeaders,
      chunks,
      bytes: async () => {
        const parts: Uint8Array[] = [];
        for await (const chunk of chunks()) parts.push(chunk);
        return Buffer.concat(parts);
      },
      discard: () => {
        if (!read) response.body.destroy();
        read = true;
      },
      bytesRead: () => size,
    };
  }

  /** A failure to reach Qualys or to read its answer, as the error the caller should see. */
  #failure(error: unknown, endpoint: QualysEndpoint, signal: AbortSignal | undefined, httpStatus?: number): unknown {
    // Cancellation is the caller's decision, not a Qualys failure: surface the caller's reason.
    if (signal?.aborted) return signal.reason ?? error;
    if (isQualysError(error)) return error;
    if (isZlibError(error)) {
      return new QualysError({
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
    return networkError(error, {
      endpoint,
      host: this.#origin.host,
      knownPlatformHost: this.#options.knownPlatformHost,
      connectTimeoutMs: this.#options.timeouts.connectMs,
      headersTimeoutMs: this.#options.timeouts.headersMs,
      bodyTimeoutMs: this.#options.timeouts.bodyMs,
    });
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }
}

/** The connection was reset or closed before any of the answer arrived. */
function diedBeforeAnswering(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET';
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** The body as it arrives, decompressed when Qualys compressed it. */
function decoded(body: Readable, contentEncoding: string | undefined, endpoint: QualysEndpoint, httpStatus: number): Readable {
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
  if (decoder === undefined) return body;
  // Errors of either side surface on the decoder, which the reader iterates.
  body.on('error', (error) => decoder.destroy(error));
  return body.pipe(decoder);
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
