/**
 * Switchable faults: latency, 5xx, connection resets, truncated or malformed bodies, proxy HTML pages
 * and bursts of 409s. Set with `setFaults(plan | plans)` (or `POST /__sim/faults`), which replaces
 * whatever was set before; counters run down as matching calls consume them.
 */
import { ENDPOINTS, type Endpoint } from './types';

/**
 * A fault plan. Every count means "the next N matching calls". One call gets at most one counted fault,
 * taken in this order: htmlErrorPages, serverErrors, concurrencyLimitErrors, rateLimitErrors,
 * connectionResets, truncatedBodies, malformedXml.
 *
 * - The first four answer at once, without running the call (and without using a limiter slot).
 * - The last three run the call for real (it counts against the limits) and damage the response:
 *   `connectionResets` sends part of the body then destroys the socket; `truncatedBodies` sends part
 *   of the XML and ends the response cleanly (valid headers, chunked); `malformedXml` sends a complete
 *   response whose XML is not well formed.
 *
 * @example
 *   sim.setFaults({ endpoint: 'hostDetection', connectionResets: 1, rateLimitErrors: 2, rateLimitWaitSeconds: 30 });
 *   sim.setFaults([{ endpoint: 'knowledgeBase', latencyMs: 500 }, { endpoint: 'hostList', serverErrors: 1 }]);
 */
export interface FaultPlan {
  /** Scope of the whole plan. Omitted: every endpoint (the 409 faults: every API v2 endpoint, never QPS). */
  endpoint?: Endpoint;
  /** Extra latency in ms on every matching call while the plan is set. */
  latencyMs?: number;
  /** Next N calls answer a 5xx. */
  serverErrors?: number;
  /** 500 = Qualys GENERIC_RETURN "Internal error" (CODE 999); 503 (default) = maintenance HTML page. */
  serverErrorStatus?: 500 | 503;
  /** Next N calls: part of the body is sent, then the socket is destroyed. */
  connectionResets?: number;
  /** Next N calls: the XML is cut partway; the response ends normally. */
  truncatedBodies?: number;
  /** Next N calls: a complete response whose XML is not well formed. */
  malformedXml?: number;
  /** Next N calls: a reverse proxy's HTML error page (content-type text/html). */
  htmlErrorPages?: number;
  /** Status of those pages; default 502. */
  htmlErrorStatus?: 502 | 503 | 504;
  /** Next N API v2 calls: HTTP 409 CODE 1960 (concurrency limit). */
  concurrencyLimitErrors?: number;
  /** Next N API v2 calls: HTTP 409 CODE 1965 (rate limit), with X-RateLimit-ToWait-Sec = SECONDS_TO_WAIT. */
  rateLimitErrors?: number;
  /** The wait those 1965s announce; default 60. */
  rateLimitWaitSeconds?: number;
  /**
   * Next N calls that ran: the answer stays well-formed XML but its first record cannot be read (see
   * `unreadableRecord`). Not a failed call: the connector sets such a record aside.
   */
  unreadableRecords?: number;
  /**
   * How the record is made unreadable: `qid` (default) makes its first DETECTION's QID "QID-<qid>", not a
   * number (Host List Detection); `host-id` removes the first HOST's ID (Host List, Host List Detection).
   */
  unreadableRecord?: UnreadableRecord;
}

export type UnreadableRecord = 'qid' | 'host-id';

export type ImmediateFault =
  | { kind: 'htmlErrorPage'; status: 502 | 503 | 504 }
  | { kind: 'serverError'; status: 500 | 503 }
  | { kind: 'concurrencyLimit' }
  | { kind: 'rateLimit'; waitSeconds: number };

export type BodyFault = 'reset' | 'truncated' | 'malformed';

type CountKey =
  | 'htmlErrorPages'
  | 'serverErrors'
  | 'concurrencyLimitErrors'
  | 'rateLimitErrors'
  | 'connectionResets'
  | 'truncatedBodies'
  | 'malformedXml'
  | 'unreadableRecords';

const COUNT_KEYS: readonly CountKey[] = [
  'htmlErrorPages',
  'serverErrors',
  'concurrencyLimitErrors',
  'rateLimitErrors',
  'connectionResets',
  'truncatedBodies',
  'malformedXml',
  'unreadableRecords',
];

/** Checks a plan that arrived as JSON; throws with a readable message when it is not a FaultPlan. */
export function parseFaultPlan(value: unknown): FaultPlan {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('a fault plan must be a JSON object');
  const input = value as Record<string, unknown>;
  const plan: FaultPlan = {};
  const count = (key: string): number | undefined => {
    const v = input[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${key} must be a non-negative integer`);
    return v;
  };
  for (const key of Object.keys(input)) {
    if (![...COUNT_KEYS, 'endpoint', 'latencyMs', 'serverErrorStatus', 'htmlErrorStatus', 'rateLimitWaitSeconds', 'unreadableRecord'].includes(key)) {
      throw new Error(`unknown fault plan field: ${key}`);
    }
  }
  if (input['endpoint'] !== undefined) {
    const endpoint = ENDPOINTS.find((e) => e === input['endpoint']);
    if (!endpoint) throw new Error(`endpoint must be one of ${ENDPOINTS.join(', ')}`);
    plan.endpoint = endpoint;
  }
  for (const key of COUNT_KEYS) {
    const n = count(key);
    if (n !== undefined) plan[key] = n;
  }
  const latency = count('latencyMs');
  if (latency !== undefined) plan.latencyMs = latency;
  const wait = count('rateLimitWaitSeconds');
  if (wait !== undefined) plan.rateLimitWaitSeconds = wait;
  const serverStatus = input['serverErrorStatus'];
  if (serverStatus !== undefined) {
    if (serverStatus !== 500 && serverStatus !== 503) throw new Error('serverErrorStatus must be 500 or 503');
    plan.serverErrorStatus = serverStatus;
  }
  const htmlStatus = input['htmlErrorStatus'];
  if (htmlStatus !== undefined) {
    if (htmlStatus !== 502 && htmlStatus !== 503 && htmlStatus !== 504) throw new Error('htmlErrorStatus must be 502, 503 or 504');
    plan.htmlErrorStatus = htmlStatus;
  }
  const unreadable = input['unreadableRecord'];
  if (unreadable !== undefined) {
    if (unreadable !== 'qid' && unreadable !== 'host-id') throw new Error('unreadableRecord must be "qid" or "host-id"');
    plan.unreadableRecord = unreadable;
  }
  return plan;
}

export class FaultInjector {
  private plans: FaultPlan[] = [];

  set(plans: FaultPlan | FaultPlan[]): void {
    this.plans = (Array.isArray(plans) ? plans : [plans]).map((plan) => ({ ...plan }));
  }

  clear(): void {
    this.plans = [];
  }

  /** What is left of the plans (counters run down). */
  current(): FaultPlan[] {
    return this.plans.map((plan) => ({ ...plan }));
  }

  private matching(endpoint: Endpoint): FaultPlan[] {
    return this.plans.filter((plan) => plan.endpoint === undefined || plan.endpoint === endpoint);
  }

  private take(endpoint: Endpoint, key: CountKey): FaultPlan | undefined {
    for (const plan of this.matching(endpoint)) {
      const left = plan[key] ?? 0;
      if (left > 0) {
        plan[key] = left - 1;
        return plan;
      }
    }
    return undefined;
  }

  extraLatencyMs(endpoint: Endpoint): number {
    return this.matching(endpoint).reduce((sum, plan) => sum + (plan.latencyMs ?? 0), 0);
  }

  /** A fault that replaces the call entirely, if one is due. */
  takeImmediate(endpoint: Endpoint, isApiV2: boolean): ImmediateFault | undefined {
    let plan = this.take(endpoint, 'htmlErrorPages');
    if (plan) return { kind: 'htmlErrorPage', status: plan.htmlErrorStatus ?? 502 };
    plan = this.take(endpoint, 'serverErrors');
    if (plan) return { kind: 'serverError', status: plan.serverErrorStatus ?? 503 };
    if (!isApiV2) return undefined; // QPS knows no 1960/1965
    plan = this.take(endpoint, 'concurrencyLimitErrors');
    if (plan) return { kind: 'concurrencyLimit' };
    plan = this.take(endpoint, 'rateLimitErrors');
    if (plan) return { kind: 'rateLimit', waitSeconds: plan.rateLimitWaitSeconds ?? 60 };
    return undefined;
  }

  /** How the answer of a call that ran has one record made unreadable, if that is due. */
  takeUnreadableRecord(endpoint: Endpoint): UnreadableRecord | undefined {
    const plan = this.take(endpoint, 'unreadableRecords');
    return plan ? (plan.unreadableRecord ?? 'qid') : undefined;
  }

  /** A fault that damages the response of a call that ran, if one is due. */
  takeBodyFault(endpoint: Endpoint): BodyFault | undefined {
    if (this.take(endpoint, 'connectionResets')) return 'reset';
    if (this.take(endpoint, 'truncatedBodies')) return 'truncated';
    if (this.take(endpoint, 'malformedXml')) return 'malformed';
    return undefined;
  }
}

/** Cuts the XML partway, inside text, so that no parser can mistake it for a whole document. */
export function truncateBody(body: string): string {
  const cut = Math.max(1, Math.floor(body.length * 0.6));
  const gt = body.indexOf('>', cut);
  // Stop just after a start tag's '>' plus a few characters of its content when possible.
  return body.slice(0, gt > 0 ? Math.min(body.length - 1, gt + 4) : cut);
}

/** Damages the XML in the middle: a mismatched closing tag and a bare ampersand. */
export function malformBody(body: string): string {
  const middle = body.indexOf('\n', Math.floor(body.length / 2));
  const at = middle > 0 ? middle + 1 : Math.floor(body.length / 2);
  return `${body.slice(0, at)}<BROKEN attr=1>R&D</NOT_BROKEN>\n${body.slice(at)}`;
}

/** The body with its first record made unreadable (see `FaultPlan.unreadableRecord`); as it was when it has no such record. */
export function makeRecordUnreadable(body: string, how: UnreadableRecord): string {
  if (how === 'qid') return body.replace(/(<DETECTION\b[^>]*>(?:(?!<\/DETECTION>)[\s\S])*?<QID>)\s*(\d+)\s*(<\/QID>)/, '$1QID-$2$3');
  return body.replace(/(<HOST>\s*)<ID>\s*\d+\s*<\/ID>/, '$1');
}
