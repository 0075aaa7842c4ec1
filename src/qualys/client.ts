import { performance } from 'node:perf_hooks';
import { SecretMasker, credentialSecrets, proxySecrets, urlSecrets } from '../config/secrets';
import { platformForApiHost, resolveApiBaseUrl } from './base-url';
import type { CallGate, CallGateFactory, CallPass } from './call-gate';
import {
  errorForFailedStatus,
  errorForHttpStatus,
  errorFromApiDocument,
  errorFromServiceResponse,
  type ResponseContext,
} from './classify';
import { parseQualysConnection, resolveTimeouts, type QualysConnection } from './connection';
import { endpointInfo, type QualysEndpoint } from './endpoints';
import { QualysError, isQualysError } from './errors';
import { QualysHttp, type HttpResponse } from './http';
import { readSubscriptionLimits } from './limits';
import { hostAssetCount, hostAssetPage, hostAssetRecords } from './parse-host-asset';
import { HOST_DETECTION_ROOT, hostDetectionRecords, parseHostDetectionPage } from './parse-host-detection';
import { HOST_LIST_ROOT, hostIdRecords, hostListRecords, parseHostIdPage, parseHostListPage, pushHostIds } from './parse-host-list';
import { KNOWLEDGE_BASE_ROOT, knowledgeBaseRecords, parseKnowledgeBasePage } from './parse-knowledge-base';
import { SERVICE_RESPONSE_ROOT, parseServiceResponse, type ServiceResponse } from './parse-service-response';
import { QPS_MAX_PAGE_SIZE, hostAssetCountRequest, hostAssetSearchRequest, type HostIdRange } from './qps-request';
import type { HostAsset, HostDetections, KnowledgeBaseVuln, QualysHost, SubscriptionLimits } from './schemas';
import { nextPageIdMin, type ResponseWarning } from './truncation';
import { connectorUserAgent } from './user-agent';
import { htmlPageTitle, malformed, unexpectedRoot, type XmlDocument } from './xml';
import { XmlBodyReader, type RecordSink } from './xml-body-reader';
import { withSpan } from '../telemetry/spans';
import type { RejectedRecord } from './parse-document';
import type { CallObserved } from '../contracts/calls';

export type { QualysConnection } from './connection';
export type { CallGate, CallGateFactory, CallOutcome, CallPass, QualysSubscription } from './call-gate';
export type { HostIdRange } from './qps-request';

/** Reported after every HTTP call (one per page), successful or not. */
export interface QualysCallEvent extends CallObserved {
  endpoint: QualysEndpoint;
  durationMs: number;
}

/** What reading an answer observed, for the call's event. */
type ReadingObserved = Pick<QualysCallEvent, 'replacedCharacters' | 'droppedValues' | 'rejectedRecords'>;

export interface QualysClientOptions {
  onCall?: (event: QualysCallEvent) => void;
  /** Aborts every call of this client. */
  signal?: AbortSignal;
  /** Overrides `qualys-exposure-connector/<version>`. */
  userAgent?: string;
  /** Every HTTP call passes this gate (limits shared with other processes); built with the subscription. */
  gate?: CallGateFactory;
}

/** Per-call options; a shared client can still cancel, or account for, one activity's calls. */
export interface QualysCallOptions {
  signal?: AbortSignal;
  /** Called after each HTTP call this method makes (a truncated list makes several). */
  onCall?: (event: QualysCallEvent) => void;
  /**
   * Gets each record of a streamed list that cannot be read (no host ID, no QID, a broken structure),
   * with the endpoint it came from; provisional like the records taken. Without it such a record fails
   * the call (a non-retryable `malformed-response`).
   */
  onRejectedRecord?: (endpoint: QualysEndpoint, record: RejectedRecord) => void;
}

export const detectionStatuses = ['New', 'Active', 'Re-Opened', 'Fixed'] as const;
export type DetectionStatus = (typeof detectionStatuses)[number];

export interface DetectionQueryOptions {
  /** Default: all four. Qualys' own default leaves out Fixed. */
  statuses?: readonly DetectionStatus[];
  /** Scan evidence per detection; large, so off by default (`show_results=0`). */
  showResults?: boolean;
  /** Hosts per response before Qualys truncates and points at the next page (default 1000). */
  truncationLimit?: number;
  /** Only detections changed since (`YYYY-MM-DD[THH:MM:SSZ]`, UTC). */
  detectionUpdatedSince?: string;
  /** Only hosts whose last VM scan Qualys processed after this time (all their detections). */
  processedAfter?: string;
  /** Only these host IDs (all their detections): an incremental run's page. */
  ids?: readonly number[];
}

/** Which hosts a call selects (all of the range when empty). */
export interface HostFilter {
  /** Hosts whose last VM scan Qualys processed after (`YYYY-MM-DDTHH:MM:SSZ`, UTC): `vm_processed_after`. */
  processedAfter?: string;
  /** Only these host IDs (`ids`, or `qwebHostId IN` for Asset Management): an incremental run's page. */
  ids?: readonly number[];
}

export interface HostIdSet {
  ids: number[];
  /** RESPONSE/DATETIME of the first answer: Qualys' time, whatever the worker's clock says. */
  responseTime?: string;
}

const DEFAULT_TRUNCATION_LIMIT = 1000;
const QUALYS_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$/;

/**
 * Qualys VMDR client: Host List, Host List Detection, KnowledgeBase (API v2) and Asset Management
 * host assets (QPS). Every method returns validated, typed records and fails with a QualysError.
 * It never retries: retry policy (and waiting out limits) belongs to the Temporal activities.
 */
export class QualysClient {
  /** The resolved API base URL. */
  readonly baseUrl: string;
  /** The platform (e.g. 'US2') when the URL is a known Qualys API host. */
  readonly pod?: string;

  readonly #http: QualysHttp;
  readonly #options: QualysClientOptions;
  readonly #masker: SecretMasker;
  #limits?: SubscriptionLimits;
  readonly #limitsByEndpoint = new Map<QualysEndpoint, SubscriptionLimits>();
  readonly #gate?: CallGate;

  constructor(connection: QualysConnection, options: QualysClientOptions = {}) {
    const settings = parseQualysConnection(connection);
    const resolved = resolveApiBaseUrl(settings.apiUrl, { allowPlainHttp: settings.allowPlainHttp });
    this.baseUrl = resolved.baseUrl;
    this.pod = resolved.pod;
    this.#options = options;
    // The password, its Basic token and the proxy's credentials, in any spelling a server may echo.
    this.#masker = new SecretMasker([
      ...credentialSecrets(settings.username, settings.password),
      ...urlSecrets(settings.proxyUrl),
      ...proxySecrets(process.env),
    ]);
    this.#http = new QualysHttp({
      baseUrl: resolved.baseUrl,
      knownPlatformHost: platformForApiHost(new URL(resolved.baseUrl).hostname) !== undefined,
      username: settings.username,
      password: settings.password,
      userAgent: options.userAgent ?? connectorUserAgent(),
      timeouts: resolveTimeouts(settings.timeouts),
      caFile: settings.caFile,
      proxyUrl: settings.proxyUrl,
    });
    this.#gate = options.gate?.({ baseUrl: this.baseUrl, username: settings.username });
  }

  /**
   * The limits from the most recent response that carried limit headers; Qualys counts per API, so
   * pass an endpoint for that API's own counters. Undefined until an API v2 call has answered.
   */
  subscriptionLimits(endpoint?: QualysEndpoint): SubscriptionLimits | undefined {
    const limits = endpoint === undefined ? this.#limits : this.#limitsByEndpoint.get(endpoint);
    return limits === undefined ? undefined : { ...limits };
  }

  /** All host IDs (or those in the range), ascending: Host List `details=None`, `truncation_limit=0`. */
  async listHostIds(range: Partial<HostIdRange> = {}, call: QualysCallOptions = {}): Promise<number[]> {
    return (await this.listHostIdSet(range, {}, call)).ids;
  }

  /**
   * The host ID set (of the range, of the hosts the filter selects), ascending, with Qualys' own time
   * of the answer (RESPONSE/DATETIME): the clock an incremental run's watermark must use.
   */
  async listHostIdSet(range: Partial<HostIdRange> = {}, filter: HostFilter = {}, call: QualysCallOptions = {}): Promise<HostIdSet> {
    checkRange('listHostIds', range);
    // A plain array, not a Set, and each ID_SET entry taken as it is read, not held as a document:
    // at a million hosts either would cost the worker tens of MiB more at its peak.
    const ids: number[] = [];
    let responseTime: string | undefined;
    await this.#pagesV2(
      'hostList',
      { action: 'list', details: 'None', truncation_limit: '0', ...hostFilterParams('listHostIds', filter) },
      range,
      HOST_LIST_ROOT,
      call,
      { reader: hostIdRecords(), take: (run) => pushHostIds(ids, run) },
      (document, context) => {
        const page = parseHostIdPage(document, context);
        responseTime ??= page.responseTime;
        return page.warning;
      },
    );
    return { ids: ascendingUnique(ids), responseTime };
  }

  /** Hosts with their details, TruRisk and asset criticality: Host List `details=All`. */
  listHosts(range: HostIdRange, call: QualysCallOptions = {}, filter: HostFilter = {}): Promise<QualysHost[]> {
    return collected((take: (host: QualysHost) => void) => this.streamHosts(range, call, take, filter));
  }

  /** Host List `details=All`, each host handed to `take` as soon as it is read (provisional until the promise resolves). */
  async streamHosts(range: HostIdRange, call: QualysCallOptions, take: (host: QualysHost) => void, filter: HostFilter = {}): Promise<void> {
    checkRange('listHosts', range, true);
    await this.#pagesV2(
      'hostList',
      {
        action: 'list',
        details: 'All',
        show_asset_id: '1',
        show_trurisk: '1',
        truncation_limit: String(DEFAULT_TRUNCATION_LIMIT),
        ...hostFilterParams('listHosts', filter),
      },
      range,
      HOST_LIST_ROOT,
      call,
      { reader: hostListRecords, take },
      (document, context) => parseHostListPage(document, context).warning,
    );
  }

  /** Hosts in the range with their detections: Host List Detection, following truncation. */
  listDetections(range: HostIdRange, options: DetectionQueryOptions = {}, call: QualysCallOptions = {}): Promise<HostDetections[]> {
    return collected((take: (host: HostDetections) => void) => this.streamDetections(range, options, call, take));
  }

  /**
   * Host List Detection, each host handed to `take` as soon as it has been read and validated, while the
   * body is still arriving: nothing holds the page. The hosts are provisional until the promise
   * resolves — a body that turns out cut short or broken rejects it, and the caller must drop what it took.
   */
  async streamDetections(
    range: HostIdRange,
    options: DetectionQueryOptions,
    call: QualysCallOptions,
    take: (host: HostDetections) => void,
  ): Promise<void> {
    checkRange('listDetections', range, true);
    const params = detectionParams(options);
    await this.#pagesV2(
      'hostDetection',
      params,
      range,
      HOST_DETECTION_ROOT,
      call,
      { reader: hostDetectionRecords, take },
      (document, context) => parseHostDetectionPage(document, context).warning,
    );
  }

  /**
   * KnowledgeBase entries (`details=Basic`) for these QIDs, with their CVEs. QIDs Qualys does not
   * know are simply absent. One call for the whole list (POSTed, so it may be long); batch upstream.
   */
  async knowledgeBase(qids: readonly string[], call: QualysCallOptions = {}): Promise<KnowledgeBaseVuln[]> {
    const unique = [...new Set(qids.map((qid) => qid.trim()))];
    const invalid = unique.find((qid) => !/^\d+$/.test(qid));
    if (invalid !== undefined) {
      throw invalidArgument('knowledgeBase', `"${invalid.slice(0, 40)}" is not a QID (QIDs are numbers).`);
    }
    if (unique.length === 0) return [];
    unique.sort((a, b) => Number(a) - Number(b));

    return this.#knowledgeBaseList({ action: 'list', details: 'Basic', ids: unique.join(',') }, call);
  }

  /**
   * KnowledgeBase entries Qualys changed after `since` (`YYYY-MM-DD[THH:MM:SSZ]`, UTC): how a cached
   * QID → CVE map learns about QIDs whose CVE list changed, in one call.
   */
  async knowledgeBaseModifiedSince(since: string, call: QualysCallOptions = {}): Promise<KnowledgeBaseVuln[]> {
    if (!QUALYS_DATE.test(since)) {
      throw invalidArgument('knowledgeBase', `"${since.slice(0, 40)}" is not a Qualys date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ).`);
    }
    return this.#knowledgeBaseList({ action: 'list', details: 'Basic', last_modified_after: since }, call);
  }

  async #knowledgeBaseList(form: Record<string, string>, call: QualysCallOptions): Promise<KnowledgeBaseVuln[]> {
    const vulns = new Map<string, KnowledgeBaseVuln>();
    await this.#pagesV2(
      'knowledgeBase',
      form,
      {},
      KNOWLEDGE_BASE_ROOT,
      call,
      { reader: knowledgeBaseRecords, take: (vuln) => vulns.set(vuln.qid, vuln) },
      (document, context) => parseKnowledgeBasePage(document, context).warning,
    );
    return [...vulns.values()];
  }

  /** Asset Management host assets whose Qualys host ID is in the range (interfaces: MAC, gateway). */
  searchHostAssets(range: HostIdRange, call: QualysCallOptions = {}, filter: HostFilter = {}): Promise<HostAsset[]> {
    return collected((take: (asset: HostAsset) => void) => this.streamHostAssets(range, call, take, filter));
  }

  /** Asset Management host assets, each handed to `take` as soon as it is read (provisional until the promise resolves). */
  async streamHostAssets(range: HostIdRange, call: QualysCallOptions, take: (asset: HostAsset) => void, filter: HostFilter = {}): Promise<void> {
    checkRange('searchHostAssets', range, true);
    const hostIds = checkedIds('searchHostAssets', filter.ids);
    let afterId: number | undefined;
    for (;;) {
      const { response, context } = await this.#exchange(
        'hostAssetSearch',
        hostAssetSearchRequest(range, QPS_MAX_PAGE_SIZE, afterId, hostIds),
        call,
        { reader: hostAssetRecords, take },
        qpsAnswer,
      );
      const page = hostAssetPage(response, context);
      if (page.nextAfterId === undefined) return;
      if (afterId !== undefined && page.nextAfterId <= afterId) {
        throw malformed(context, `${endpointInfo.hostAssetSearch.title} returned lastId ${page.nextAfterId}, which does not advance past ${afterId}.`);
      }
      afterId = page.nextAfterId;
    }
  }

  /** How many Asset Management host assets there are (in the range, if given). */
  async countHostAssets(range: Partial<HostIdRange> = {}, call: QualysCallOptions = {}): Promise<number> {
    checkRange('countHostAssets', range);
    const { response, context } = await this.#exchange('hostAssetCount', hostAssetCountRequest(range), call, undefined, qpsAnswer);
    return hostAssetCount(response, context);
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  /**
   * Runs an API v2 list call, re-issuing it with the next `id_min` while Qualys truncates (WARNING
   * 1980). Records on the sink's path go to it as they are read; `handlePage` reads the rest of each
   * page (the envelope) and returns its WARNING.
   */
  async #pagesV2<T>(
    endpoint: QualysEndpoint,
    params: Readonly<Record<string, string>>,
    range: Partial<HostIdRange>,
    expectedRoot: string,
    call: QualysCallOptions,
    sink: RecordSink<T> | undefined,
    handlePage: (document: XmlDocument, context: ResponseContext) => ResponseWarning,
  ): Promise<void> {
    let idMin = range.idMin;
    for (;;) {
      const form = new URLSearchParams(params);
      if (idMin !== undefined) form.set('id_min', String(idMin));
      if (range.idMax !== undefined) form.set('id_max', String(range.idMax));

      const { document, context } = await this.#exchange(endpoint, form.toString(), call, sink, v2Answer(expectedRoot));
      const warning = handlePage(document, context);
      const next = nextPageIdMin(warning, idMin, context);
      if (next === undefined || (range.idMax !== undefined && next > range.idMax)) return;
      idMin = next;
    }
  }

  /**
   * One HTTP call: pass the gate, send, record limits, read the body as XML as it arrives (records on
   * the sink's path handed on), interpret it (`v2Answer`, `qpsAnswer`), report to onCall, keep secrets
   * out of errors. A call the gate refuses (or cancels) was never made: it is not reported.
   */
  async #exchange<T, R>(
    endpoint: QualysEndpoint,
    body: string,
    call: QualysCallOptions,
    sink: RecordSink<T> | undefined,
    interpret: (parsed: Parsed, context: ResponseContext) => R,
  ): Promise<R> {
    const observed: ReadingObserved = {};
    const callerSignal = this.#signal(call);
    const pass: CallPass | undefined = await this.#gate?.enter(endpoint, callerSignal);
    const signal = pass?.lease ? (callerSignal ? AbortSignal.any([callerSignal, pass.lease.signal]) : pass.lease.signal) : callerSignal;
    // The call's span: endpoint, status, body bytes and Qualys' code — never a credential (the
    // Authorization header and the user name stay in the transport; the host is the URL's alone).
    return withSpan(`qualys ${endpoint}`, { 'qualys.endpoint': endpoint, 'http.request.method': 'POST', 'server.address': new URL(this.baseUrl).hostname }, async (span) => {
      const started = performance.now();
      let httpStatus: number | undefined;
      let qualysCode: string | undefined;
      let ok = false;
      let limits: SubscriptionLimits | undefined;
      let refusedWaitSeconds: number | undefined;
      let response: HttpResponse | undefined;
      try {
        // A pass whose lease lapsed while this process was paused must not be used: its slot may be another's.
        pass?.lease?.check();
        response = await this.#http.open(endpoint, body, signal);
        const exchange = response;
        httpStatus = exchange.status;
        limits = readSubscriptionLimits(exchange.headers);
        if (limits) {
          this.#limits = limits;
          this.#limitsByEndpoint.set(endpoint, limits);
        }
        const context: ResponseContext = {
          endpoint,
          httpStatus: exchange.status,
          contentType: exchange.headers['content-type'],
          baseUrl: this.baseUrl,
          pod: this.pod,
          limits,
          location: exchange.headers.location,
        };
        const result = interpret(await readXml(exchange, context, withRejects(sink, endpoint, call), observed), context);
        ok = true;
        return result;
      } catch (error) {
        if (!isQualysError(error)) throw error;
        qualysCode = error.qualysCode;
        httpStatus ??= error.httpStatus;
        if (error.kind === 'rate-limit' && httpStatus !== undefined) refusedWaitSeconds = error.waitSeconds;
        throw this.#withoutSecrets(error);
      } finally {
        response?.discard();
        span.setAttributes({
          ...(httpStatus !== undefined ? { 'http.response.status_code': httpStatus } : {}),
          ...(qualysCode !== undefined ? { 'qualys.code': qualysCode } : {}),
          'qualys.response.bytes': response?.bytesRead() ?? 0,
        });
        this.#report({ endpoint, httpStatus, qualysCode, durationMs: performance.now() - started, ok, ...observed }, call);
        await pass?.leave({ limits, refusedWaitSeconds });
      }
    });
  }

  #signal(call: QualysCallOptions): AbortSignal | undefined {
    const signals = [this.#options.signal, call.signal].filter((s): s is AbortSignal => s !== undefined);
    if (signals.length <= 1) return signals[0];
    return AbortSignal.any(signals);
  }

  #report(event: QualysCallEvent, call: QualysCallOptions): void {
    for (const observer of [this.#options.onCall, call.onCall]) {
      try {
        observer?.(event);
      } catch {
        // An observer must never turn a good Qualys call into a failure.
      }
    }
  }

  /**
   * Belt and braces: nothing we build contains the password, but a message quoting server text
   * could (raw, percent-encoded, as an entity …). Any spelling of it, of the Basic token or of the
   * proxy's credentials is masked before the error leaves the client.
   */
  #withoutSecrets(error: QualysError): QualysError {
    const masker = this.#masker;
    if (![error.message, error.fix, error.qualysText, error.stack].some((value) => masker.leaks(value))) return error;
    return new QualysError({
      ...error.details(),
      message: masker.mask(error.message),
      fix: masker.maskOptional(error.fix),
      qualysText: masker.maskOptional(error.qualysText),
    });
  }
}

type Parsed = ({ document: XmlDocument; error?: undefined } | { document?: undefined; error: QualysError }) & {
  /** The body held nothing but white space. */
  empty: boolean;
  /** When a non-2xx body is an HTML page: its title ('' without one). */
  htmlTitle?: string;
};

/**
 * Reads the body as XML, as it arrives. On a successful status records go to the sink as they are read
 * (a body that fails to read or parse fails the call there and then). On any other status the body's
 * reading is kept, good or bad, for `throwForStatus`: its status may decide what went wrong whatever
 * the body says. What the reader replaced (characters XML forbids, invalid bytes) goes to `observed`.
 */
async function readXml<T>(
  response: HttpResponse,
  context: ResponseContext,
  sink: RecordSink<T> | undefined,
  observed: ReadingObserved,
): Promise<Parsed> {
  const success = response.status >= 200 && response.status < 300;
  const reader = new XmlBodyReader(context, success ? sink : undefined);
  try {
    for await (const chunk of response.chunks()) reader.writeBytes(chunk);
    const document = reader.end();
    return { document, empty: false };
  } catch (error) {
    if (success || !isQualysError(error) || error.kind !== 'malformed-response') throw error;
    return { error, empty: reader.blank, htmlTitle: htmlPageTitle(reader.prefix, context.contentType) };
  } finally {
    if (reader.replacedCharacters.size > 0) {
      observed.replacedCharacters = Object.fromEntries([...reader.replacedCharacters].map(([field, counts]) => [field, { ...counts }]));
    }
    if (reader.droppedValues.size > 0) observed.droppedValues = Object.fromEntries(reader.droppedValues);
    if (reader.rejectedRecords > 0) observed.rejectedRecords = reader.rejectedRecords;
  }
}

/** An API v2 answer: Qualys' error document, else what the HTTP status says, else the document, whose root must be `expectedRoot`. */
function v2Answer(expectedRoot: string): (parsed: Parsed, context: ResponseContext) => { document: XmlDocument; context: ResponseContext } {
  return (parsed, context) => {
    if (parsed.document) {
      const apiError = errorFromApiDocument(parsed.document, context);
      if (apiError) throw apiError;
    }
    throwForStatus(context, parsed);
    if (!parsed.document) throw parsed.error;
    if (parsed.document.rootName !== expectedRoot) throw unexpectedRoot(parsed.document, [expectedRoot], context);
    return { document: parsed.document, context };
  };
}

/** A QPS answer: a ServiceResponse (its error, else what the HTTP status says), else what the HTTP status says of the body. */
function qpsAnswer(parsed: Parsed, context: ResponseContext): { response: ServiceResponse; context: ResponseContext } {
  if (parsed.document?.rootName === SERVICE_RESPONSE_ROOT) {
    const response = parseServiceResponse(parsed.document, context);
    const serviceError = errorFromServiceResponse(response, context);
    if (serviceError) throw serviceError;
    throwForStatus(context, parsed);
    return { response, context };
  }
  throwForStatus(context, parsed);
  if (!parsed.document) throw parsed.error;
  throw unexpectedRoot(parsed.document, [SERVICE_RESPONSE_ROOT], context);
}

/** The sink, with the call's taker of rejected records (if any) wired in. */
function withRejects<T>(sink: RecordSink<T> | undefined, endpoint: QualysEndpoint, call: QualysCallOptions): RecordSink<T> | undefined {
  const onRejected = call.onRejectedRecord;
  if (sink === undefined || onRejected === undefined) return sink;
  return { ...sink, reject: (record) => onRejected(endpoint, record) };
}

/**
 * After any Qualys error document has been classified: statuses that decide by themselves
 * (401, 403, 409, …), then any other non-2xx. On a 5xx the status decides whatever the body is
 * (a proxy's HTML page is a server error naming the status); on a 4xx an unreadable body stays a
 * malformed-response (it says what answered). On a 2xx the caller reports what the body lacks.
 */
function throwForStatus(context: ResponseContext, parsed: Parsed): void {
  const decisive = errorForHttpStatus(context);
  if (decisive) throw decisive;
  if (context.httpStatus >= 200 && context.httpStatus < 300) return;
  if (parsed.empty) throw errorForFailedStatus(context, { kind: 'empty' });
  if (parsed.document) throw errorForFailedStatus(context, { kind: 'document', rootName: parsed.document.rootName });
  if (context.httpStatus < 500) throw parsed.error;
  throw errorForFailedStatus(context, parsed.htmlTitle === undefined ? { kind: 'not-xml' } : { kind: 'html', title: parsed.htmlTitle });
}

function detectionParams(options: DetectionQueryOptions): Record<string, string> {
  const statuses = options.statuses ?? detectionStatuses;
  const unknown = statuses.find((status) => !(detectionStatuses as readonly string[]).includes(status));
  if (statuses.length === 0 || unknown !== undefined) {
    throw invalidArgument('listDetections', `statuses must be some of ${detectionStatuses.join(', ')}.`);
  }
  const truncationLimit = options.truncationLimit ?? DEFAULT_TRUNCATION_LIMIT;
  if (!Number.isInteger(truncationLimit) || truncationLimit < 1) {
    throw invalidArgument('listDetections', 'truncationLimit must be a positive whole number of hosts.');
  }
  const params: Record<string, string> = {
    action: 'list',
    output_format: 'XML',
    status: statuses.join(','),
    show_results: options.showResults === true ? '1' : '0',
    show_asset_id: '1',
    show_qds: '1',
    truncation_limit: String(truncationLimit),
  };
  Object.assign(params, hostFilterParams('listDetections', { processedAfter: options.processedAfter, ids: options.ids }));
  if (options.detectionUpdatedSince !== undefined) {
    if (!QUALYS_DATE.test(options.detectionUpdatedSince)) {
      throw invalidArgument('listDetections', 'detectionUpdatedSince must look like YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.');
    }
    params.detection_updated_since = options.detectionUpdatedSince;
  }
  return params;
}

function checkRange(method: string, range: Partial<HostIdRange>, required = false): void {
  const { idMin, idMax } = range;
  for (const [name, value] of [
    ['idMin', idMin],
    ['idMax', idMax],
  ] as const) {
    if (value === undefined) {
      if (required) throw invalidArgument(method, `${name} is required.`);
      continue;
    }
    if (!Number.isSafeInteger(value) || value < 0) {
      throw invalidArgument(method, `${name} must be a non-negative whole number (got ${value}).`);
    }
  }
  if (idMin !== undefined && idMax !== undefined && idMin > idMax) {
    throw invalidArgument(method, `idMin (${idMin}) is greater than idMax (${idMax}).`);
  }
}

/** A caller mistake caught before any call is made. */
function invalidArgument(method: string, problem: string): QualysError {
  return new QualysError({
    kind: 'bad-request',
    message: `QualysClient.${method}: ${problem}`,
    fix: 'This is a bug in the caller; fix the arguments.',
  });
}

function hostFilterParams(method: string, filter: HostFilter): Record<string, string> {
  const params: Record<string, string> = {};
  if (filter.processedAfter !== undefined) {
    if (!QUALYS_DATE.test(filter.processedAfter)) {
      throw invalidArgument(method, 'processedAfter must look like YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.');
    }
    params.vm_processed_after = filter.processedAfter;
  }
  const ids = checkedIds(method, filter.ids);
  if (ids !== undefined) params.ids = idList(ids);
  return params;
}

function checkedIds(method: string, ids: readonly number[] | undefined): readonly number[] | undefined {
  if (ids === undefined) return undefined;
  if (ids.length === 0 || ids.some((id) => !Number.isSafeInteger(id) || id < 0)) {
    throw invalidArgument(method, 'ids must be a non-empty list of host IDs.');
  }
  return ids;
}

/** Host IDs as Qualys' `ids` takes them, runs of consecutive IDs as ranges: "1-5,9,12-13". */
function idList(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Every record a streaming call hands over, once it has finished (the list methods: the doctor's and the tests'). */
async function collected<T>(stream: (take: (record: T) => void) => Promise<void>): Promise<T[]> {
  const records: T[] = [];
  await stream((record) => records.push(record));
  return records;
}

/** The IDs ascending without repeats, sorted in place only when Qualys did not already send them so. */
function ascendingUnique(ids: number[]): number[] {
  let ordered = true;
  for (let i = 1; i < ids.length && ordered; i++) ordered = ids[i - 1] < ids[i];
  if (ordered) return ids;
  ids.sort((a, b) => a - b);
  let kept = 0;
  for (let i = 0; i < ids.length; i++) if (i === 0 || ids[i] !== ids[kept - 1]) ids[kept++] = ids[i];
  ids.length = kept;
  return ids;
}
