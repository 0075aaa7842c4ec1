/**
 * The simulator's HTTP server: routes Qualys API paths, applies auth, the `X-Requested-With`
 * requirement, faults, the real limits and latency, then sends what the endpoint handler rendered.
 * `/__sim/*` control endpoints expose stats, ground truth, fault switching and `advance` (not counted as calls).
 */
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { authenticate, resolveUsers, type ResolvedUser } from './auth';
import type { ApiV2Context } from './context';
import { Estate } from './estate';
import { advanceEstate, parseAdvanceOptions } from './generations';
import { type BodyFault, FaultInjector, type ImmediateFault, makeRecordUnreadable, malformBody, parseFaultPlan, truncateBody } from './faults';
import { handleHostDetection, HOST_DETECTION_PATH } from './host-detection';
import { handleHostList, HOST_LIST_PATH } from './host-list';
import { handleKnowledgeBase, KNOWLEDGE_BASE_PATH } from './knowledge-base-api';
import { ApiLimits } from './limits';
import { BadRequest, mergeParams, paramsRecord } from './params';
import {
  handleHostAsset,
  QPS_COUNT_PATH,
  QPS_SEARCH_PATH,
  qpsErrorReply,
  qpsEvaluationExpired,
  qpsInvalidCredentials,
  qpsUnauthorized,
} from './qps';
import {
  type ApiReply,
  concurrencyLimitReply,
  internalErrorReply,
  maintenanceReply,
  notFoundReply,
  proxyErrorPageReply,
  rateLimitReply,
  simpleReturnReply,
} from './responses';
import { type BodyEncoding, encodeBody, negotiateEncoding, type Pace, sendBody, sendInPieces, untilLastByte } from './serve-body';
import { StatsRecorder } from './stats';
import type { Endpoint, RunningSimulator, SimulatorOptions } from './types';

const MAX_BODY_BYTES = 16 * 1024 * 1024;

type ApiV2Handler = (ctx: ApiV2Context) => ApiReply;

const API_V2_ROUTES: ReadonlyArray<{ path: string; endpoint: Endpoint; handler: ApiV2Handler }> = [
  { path: HOST_LIST_PATH, endpoint: 'hostList', handler: handleHostList },
  { path: HOST_DETECTION_PATH, endpoint: 'hostDetection', handler: handleHostDetection },
  { path: KNOWLEDGE_BASE_PATH, endpoint: 'knowledgeBase', handler: handleKnowledgeBase },
];

const QPS_ROUTES: ReadonlyArray<{ path: string; endpoint: Endpoint; count: boolean }> = [
  { path: QPS_SEARCH_PATH, endpoint: 'hostAssetSearch', count: false },
  { path: QPS_COUNT_PATH, endpoint: 'hostAssetCount', count: true },
];

/** Paths match with or without the trailing slash. */
function samePath(requested: string, route: string): boolean {
  const strip = (p: string): string => (p.endsWith('/') ? p.slice(0, -1) : p);
  return strip(requested) === strip(route);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isFormBody(req: IncomingMessage, body: string): boolean {
  const type = req.headers['content-type'] ?? '';
  // curl -d sends the form type; a body with no type at all is read as a form too (assumption).
  return type.includes('application/x-www-form-urlencoded') || (type === '' && body.length > 0);
}

interface Outcome {
  reply: ApiReply;
  bodyFault?: BodyFault;
  /** Frees the limiter slot when the response has ended. */
  release?: () => void;
  params: Record<string, string>;
}

class Simulator {
  readonly estate: Estate;
  readonly users: ResolvedUser[];
  readonly stats = new StatsRecorder();
  readonly faults = new FaultInjector();
  private readonly limits: ApiLimits;
  private readonly latencyMs: number;
  private readonly latencyPerKbMs: number;
  private readonly truncationLimit: number;
  private readonly transport: 'chunks' | 'pieces';
  private readonly shutdown = new AbortController();

  constructor(options: SimulatorOptions) {
    // Every in-flight call's latency timer listens on this signal; hundreds at once are normal.
    setMaxListeners(0, this.shutdown.signal);
    this.estate = new Estate({
      hosts: options.hosts,
      seed: options.seed,
      detectionsPerHost: options.detectionsPerHost,
      profile: options.profile,
      clockOffsetMs: options.clockOffsetMs,
      outsideHostList: options.outsideHostList,
    });
    this.users = resolveUsers(options.users);
    this.limits = new ApiLimits({
      concurrencyLimit: options.concurrencyLimit ?? 2,
      rateLimit: options.rateLimit ?? { calls: 300, windowSeconds: 3600 },
    });
    this.latencyMs = options.latencyMs ?? 0;
    this.latencyPerKbMs = options.latencyPerKbMs ?? 0;
    this.truncationLimit = options.truncationLimit ?? 1000;
    this.transport = options.transport ?? 'chunks';
  }

  stop(): void {
    this.shutdown.abort();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const baseUrl = `http://${req.headers.host ?? 'localhost'}`;
    if (url.pathname.startsWith('/__sim/')) return this.handleControl(req, res, url.pathname);

    const v2 = API_V2_ROUTES.find((route) => samePath(url.pathname, route.path));
    const qps = QPS_ROUTES.find((route) => samePath(url.pathname, route.path));
    const endpoint = v2?.endpoint ?? qps?.endpoint;
    if (endpoint === undefined) {
      await readBody(req).catch(() => '');
      return this.send(res, notFoundReply(), 'identity', undefined, { lastByteAt: 0 });
    }

    const at = Date.now();
    const endInFlight = this.stats.begin(endpoint);
    let release: (() => void) | undefined;
    res.on('close', () => {
      release?.();
      endInFlight();
    });

    let outcome: Outcome;
    try {
      const body = await readBody(req);
      outcome = v2
        ? this.apiV2(req, url, body, baseUrl, v2.endpoint, v2.handler)
        : this.qps(req, body, baseUrl, endpoint, qps?.count ?? false);
    } catch (error) {
      process.stderr.write(`qualys simulator: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
      const user = authenticate(req.headers.authorization, this.users);
      outcome = { reply: internalErrorReply(baseUrl, url.pathname, user?.username ?? ''), params: {} };
    }
    release = outcome.release;
    if (res.destroyed) release?.();

    const bytes = Buffer.byteLength(outcome.reply.body);
    // The call's server time runs from the request's arrival (rendering the answer is part of it, not
    // added to it): the first byte leaves after the base latency, then the body streams at the
    // per-KiB rate, as Qualys streams a big page while it builds it — so a client reads and parses the
    // body as it arrives, and the last byte leaves `wait` after the request came in.
    const firstByteMs = this.latencyMs + this.faults.extraLatencyMs(endpoint);
    const transferMs = (this.latencyPerKbMs * bytes) / 1024;
    const wait = firstByteMs + transferMs;
    const untilFirstByte = at + firstByteMs - Date.now();
    if (untilFirstByte > 0) await delay(untilFirstByte, undefined, { signal: this.shutdown.signal }).catch(() => undefined);

    const faultKey = outcome.bodyFault;
    const encoding = this.encodingFor(req, outcome.reply);
    this.stats.record(
      {
        endpoint,
        at,
        status: outcome.reply.status,
        code: faultKey ?? outcome.reply.code,
        params: outcome.params,
        servedMs: wait,
        bytes,
        ...(encoding === 'identity' ? {} : { contentEncoding: encoding }),
      },
      faultKey ?? outcome.reply.errorKey,
    );
    if (res.destroyed || this.shutdown.signal.aborted) return;
    await this.send(res, outcome.reply, encoding, outcome.bodyFault, { lastByteAt: at + wait, signal: this.shutdown.signal });
  }

  private immediateFaultReply(fault: ImmediateFault, endpoint: Endpoint, baseUrl: string, username: string, path: string): ApiReply {
    switch (fault.kind) {
      case 'htmlErrorPage':
        return proxyErrorPageReply(fault.status);
      case 'serverError':
        return fault.status === 500 ? internalErrorReply(baseUrl, path, username) : maintenanceReply();
      case 'concurrencyLimit': {
        const reply = concurrencyLimitReply(baseUrl, 1);
        const headers = this.limits.headers(endpoint);
        headers['X-Concurrency-Limit-Running'] = headers['X-Concurrency-Limit-Limit'] ?? '0';
        return { ...reply, headers };
      }
      case 'rateLimit': {
        // The limiter itself now refuses for the wait, so the headers of this and every later response agree.
        const headers = this.limits.exhaustRate(endpoint, fault.waitSeconds);
        const reply = rateLimitReply(baseUrl, Number(headers['X-RateLimit-ToWait-Sec'] ?? fault.waitSeconds));
        return { ...reply, headers };
      }
    }
  }

  private apiV2(
    req: IncomingMessage,
    url: URL,
    body: string,
    baseUrl: string,
    endpoint: Endpoint,
    handler: ApiV2Handler,
  ): Outcome {
    const params = mergeParams(url.searchParams, isFormBody(req, body) ? new URLSearchParams(body) : undefined);
    const logged = paramsRecord(params);
    const user = authenticate(req.headers.authorization, this.users);
    // No API access looks exactly like a bad password (reference §1.4); no limit headers on it.
    if (!user || !user.apiAccess) return { reply: simpleReturnReply(baseUrl, 401, '2000', 'Bad Login/Password'), params: logged };
    // As recorded by J1: HTTP 200 with CODE 2001.
    if (user.expired) return { reply: simpleReturnReply(baseUrl, 200, '2001', 'This account has expired.'), params: logged };
    if (req.method !== 'GET' && req.method !== 'POST') {
      return { reply: simpleReturnReply(baseUrl, 400, '1908', `Request method ${req.method ?? ''} is not supported.`), params: logged };
    }
    // Assumption: the CSRF header check answers 400 CODE 1903 naming the header (real wording unknown).
    if (req.headers['x-requested-with'] === undefined) {
      return { reply: simpleReturnReply(baseUrl, 400, '1903', 'Missing required header: X-Requested-With'), params: logged };
    }
    // Assumption: a user without KnowledgeBase permission gets HTTP 403 CODE 2002.
    if (endpoint === 'knowledgeBase' && !user.knowledgeBase) {
      return {
        reply: simpleReturnReply(baseUrl, 403, '2002', 'You do not have permission to access the KnowledgeBase through the API.'),
        params: logged,
      };
    }
    const fault = this.faults.takeImmediate(endpoint, true);
    if (fault) return { reply: this.immediateFaultReply(fault, endpoint, baseUrl, user.username, url.pathname), params: logged };

    const admission = this.limits.tryAdmit(endpoint);
    if (!admission.admitted) {
      const reply = admission.code === '1960'
        ? concurrencyLimitReply(baseUrl, admission.callsToFinish)
        : rateLimitReply(baseUrl, admission.secondsToWait);
      return { reply: { ...reply, headers: admission.headers }, params: logged };
    }
    let reply: ApiReply;
    try {
      reply = handler({ estate: this.estate, baseUrl, params, defaultTruncationLimit: this.truncationLimit });
    } catch (error) {
      if (!(error instanceof BadRequest)) {
        admission.release();
        throw error;
      }
      reply = simpleReturnReply(baseUrl, 400, error.code, error.message);
    }
    const unreadable = reply.status === 200 ? this.faults.takeUnreadableRecord(endpoint) : undefined;
    if (unreadable) reply = { ...reply, body: makeRecordUnreadable(reply.body, unreadable) };
    return {
      reply: { ...reply, headers: { ...admission.headers, ...reply.headers } },
      bodyFault: this.faults.takeBodyFault(endpoint),
      release: admission.release,
      params: logged,
    };
  }

  private qps(req: IncomingMessage, body: string, baseUrl: string, endpoint: Endpoint, count: boolean): Outcome {
    const user = authenticate(req.headers.authorization, this.users);
    if (!user) return { reply: qpsInvalidCredentials(baseUrl), params: {} };
    if (user.expired) return { reply: qpsEvaluationExpired(baseUrl), params: {} };
    if (!user.apiAccess || !user.assetView) return { reply: qpsUnauthorized(baseUrl), params: {} };
    if (req.method !== 'POST') {
      return { reply: qpsErrorReply(baseUrl, 'INVALID_REQUEST', `Method ${req.method ?? ''} is not allowed.`, 'Use POST.'), params: {} };
    }
    const fault = this.faults.takeImmediate(endpoint, false);
    if (fault) return { reply: this.immediateFaultReply(fault, endpoint, baseUrl, user.username, ''), params: {} };
    const { reply, request } = handleHostAsset(this.estate, baseUrl, body, count);
    const params: Record<string, string> = {};
    if (request) {
      params['limitResults'] = String(request.limitResults);
      if (request.startFromOffset > 1) params['startFromOffset'] = String(request.startFromOffset);
      for (const c of request.criteria) params[`${c.field} ${c.operator}`] = c.value;
    }
    return { reply, bodyFault: this.faults.takeBodyFault(endpoint), params };
  }

  /** Compressed as asked in the realistic profile; HTML pages come from a proxy in front of Qualys: plain. */
  private encodingFor(req: IncomingMessage, reply: ApiReply): BodyEncoding {
    if (this.estate.profile !== 'realistic' || this.transport === 'pieces' || reply.contentType.startsWith('text/html')) return 'identity';
    return negotiateEncoding(req.headers['accept-encoding']);
  }

  private async send(res: ServerResponse, reply: ApiReply, encoding: BodyEncoding, bodyFault: BodyFault | undefined, pace: Pace): Promise<void> {
    const profile = this.estate.profile;
    const text = bodyFault === 'truncated' ? truncateBody(reply.body) : bodyFault === 'malformed' ? malformBody(reply.body) : reply.body;
    const body = await encodeBody(bodyBytes(text, reply.charset), encoding);
    if (res.destroyed) return;
    // No Content-Length: Qualys streams (chunked), which also lets a truncated body end "cleanly".
    res.writeHead(reply.status, {
      'Content-Type': reply.contentType,
      Server: 'Qualys',
      ...(encoding === 'identity' ? {} : { 'Content-Encoding': encoding, Vary: 'Accept-Encoding' }),
      ...reply.headers,
    });
    if (bodyFault === 'reset') {
      await untilLastByte(pace);
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
        const socket = res.socket;
        if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
        else socket?.destroy();
      });
      return;
    }
    if (this.transport === 'pieces') {
      await untilLastByte(pace);
      await sendInPieces(res, body, this.estate.seed);
    } else await sendBody(res, body, profile, encoding === 'identity', pace);
  }

  private async handleControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const body = await readBody(req).catch(() => '');
    const route = `${req.method ?? 'GET'} ${path.replace(/\/$/, '')}`;
    switch (route) {
      case 'GET /__sim/stats':
        return json(200, this.stats.snapshot());
      case 'GET /__sim/truth':
        return json(200, this.estate.truth());
      case 'GET /__sim/faults':
        return json(200, this.faults.current());
      case 'POST /__sim/faults':
        try {
          const parsed: unknown = JSON.parse(body === '' ? '{}' : body);
          const plans = Array.isArray(parsed) ? parsed.map(parseFaultPlan) : parseFaultPlan(parsed);
          this.faults.set(plans);
          return json(200, this.faults.current());
        } catch (error) {
          return json(400, { error: error instanceof Error ? error.message : String(error) });
        }
      case 'DELETE /__sim/faults':
        this.faults.clear();
        return json(200, []);
      case 'POST /__sim/advance':
        try {
          const options = parseAdvanceOptions(JSON.parse(body === '' ? '{}' : body));
          return json(200, advanceEstate(this.estate, options));
        } catch (error) {
          return json(400, { error: error instanceof Error ? error.message : String(error) });
        }
      case 'POST /__sim/reset-stats':
        this.stats.reset();
        return json(200, { ok: true });
      default:
        return json(404, { error: `no control endpoint ${route}` });
    }
  }
}

/** Starts a simulator on `host:port` (default 127.0.0.1, a random free port). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const simulator = new Simulator(options);
  const server = createServer((req, res) => {
    simulator.handle(req, res).catch((error: unknown) => {
      process.stderr.write(`qualys simulator: ${error instanceof Error ? error.message : String(error)}\n`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const firstUser = simulator.users[0];
  if (!firstUser) throw new Error('the simulator needs at least one user');
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    username: firstUser.username,
    password: firstUser.password,
    stats: () => simulator.stats.snapshot(),
    resetStats: () => simulator.stats.reset(),
    setFaults: (plan) => simulator.faults.set(Array.isArray(plan) ? plan.map(parseFaultPlan) : parseFaultPlan(plan)),
    clearFaults: () => simulator.faults.clear(),
    truth: () => simulator.estate.truth(),
    advance: (options) => advanceEstate(simulator.estate, options),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        simulator.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** The body's bytes in the charset its document declares; a character that charset cannot carry is a simulator bug. */
function bodyBytes(text: string, charset: ApiReply['charset']): Buffer {
  if (charset !== 'latin1') return Buffer.from(text, 'utf8');
  if (/[^\u0000-\u00ff]/u.test(text)) throw new Error('a body declared ISO-8859-1 holds a character beyond it');
  return Buffer.from(text, 'latin1');
}
