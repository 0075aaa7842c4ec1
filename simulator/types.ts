/**
 * Public types of the Qualys API simulator. Other parts of the project (tests, benchmarks, the demo)
 * code against these names, so they change only with care.
 */
import type { FaultPlan } from './faults';
import type { ContentProfile } from './profile';

/** The Qualys API endpoints the simulator serves; stats and faults are keyed by these. */
export type Endpoint = 'hostList' | 'hostDetection' | 'knowledgeBase' | 'hostAssetSearch' | 'hostAssetCount';

export const ENDPOINTS: readonly Endpoint[] = [
  'hostList',
  'hostDetection',
  'knowledgeBase',
  'hostAssetSearch',
  'hostAssetCount',
];

/** The API v2 endpoints: the only ones subject to Qualys' rate and concurrency limits (reference §2.1). */
export const API_V2_ENDPOINTS: readonly Endpoint[] = ['hostList', 'hostDetection', 'knowledgeBase'];

export interface SimulatedUser {
  username: string;
  password: string;
  /** Default true; false behaves like real Qualys: HTTP 401, CODE 2000 "Bad Login/Password". */
  apiAccess?: boolean;
  /** Default true; false: KnowledgeBase calls are refused with HTTP 403 SIMPLE_RETURN CODE 2002 (assumption). */
  knowledgeBase?: boolean;
  /** Default true; false: QPS hostasset answers HTTP 200 ServiceResponse responseCode UNAUTHORIZED. */
  assetView?: boolean;
  /** True: API v2 calls answer CODE 2001 "This account has expired." (HTTP 200, as recorded by J1). */
  expired?: boolean;
}

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a random free port). */
  port?: number;
  /** Estate size (number of hosts); default 200. */
  hosts?: number;
  /** Default 1. */
  seed?: number;
  /** Average detections per host (varies per host, some hosts have none); default 8. */
  detectionsPerHost?: number;
  /** Concurrent calls allowed per API endpoint; default 2 (Standard tier). */
  concurrencyLimit?: number;
  /** Calls per rolling window per API endpoint; default 300 per 3600 s (Standard tier). */
  rateLimit?: { calls: number; windowSeconds: number };
  /** Time from a call's arrival to its first byte (rendering the answer included); default 0. */
  latencyMs?: number;
  /** Then the body streams at this many ms per KiB of it; default 0. */
  latencyPerKbMs?: number;
  /** Host List / Host List Detection page size when the request gives no truncation_limit; default 1000. */
  truncationLimit?: number;
  /** Default: one full-permission user `demo_api_user` with {@link DEMO_PASSWORD}. */
  users?: SimulatedUser[];
  /** Content profile (see profile.ts); default `QUALYS_SIM_PROFILE`, else `realistic`. */
  profile?: ContentProfile;
  /**
   * How bodies go on the wire: `chunks` (default) as the profile writes them; `pieces`: uncompressed,
   * in writes of 1–9 bytes each (seeded), every one flushed on its own, so a client reads a body in
   * pieces cut anywhere — inside a tag, a reference, a CR LF, a multi-byte character.
   */
  transport?: 'chunks' | 'pieces';
  /** How far the simulated Qualys clock is from this machine's, in ms (default 0): a worker clock that is off. */
  clockOffsetMs?: number;
  /**
   * Host indexes Host List (ID set and details) leaves out while Host List Detection still returns them,
   * as a host scoped differently by the two APIs would be. Default none.
   */
  outsideHostList?: number[];
}

export interface RequestLogEntry {
  endpoint: Endpoint;
  /** Epoch milliseconds when the request arrived. */
  at: number;
  status: number;
  /** Qualys CODE of an error (e.g. "1960"), the QPS responseCode, or the injected fault ("reset", …). */
  code?: string;
  /** Merged query + form parameters; for QPS the criteria (`"<field> <operator>"` → value) and preferences. */
  params: Record<string, string>;
  /** The simulated server time of this call (latency settings), ms; benchmarks derive their bound from it. */
  servedMs?: number;
  /** Size of the response body in UTF-8 bytes, before any compression. */
  bytes?: number;
  /** gzip or deflate when the body was compressed (realistic profile, when the request asked). */
  contentEncoding?: string;
}

export interface SimulatorStats {
  calls: Record<Endpoint, number>;
  /** Keyed like "409/1960", "401/2000", "400/1905", "500", "503", "html/502", "reset", "truncated", "malformed", "qps/UNAUTHORIZED". */
  errorsServed: Record<string, number>;
  peakInFlight: number;
  peakInFlightByEndpoint: Record<Endpoint, number>;
  /** The most recent requests (bounded), oldest first. */
  requests: RequestLogEntry[];
}

export interface TruthInterface {
  name?: string;
  mac?: string;
  address?: string;
  gateway?: string;
}

export type DetectionStatus = 'New' | 'Active' | 'Re-Opened' | 'Fixed';

export interface TruthDetection {
  qid: string;
  /** 'Confirmed' or 'Potential'. */
  type: string;
  status: DetectionStatus;
  severity: number;
  port?: string;
  protocol?: string;
  ssl: boolean;
  firstFound: string;
  lastFound: string;
  /** Present for Fixed and Re-Opened detections. */
  lastFixed?: string;
  /** QDS 1–100; served only with show_qds=1. */
  qds?: number;
  timesFound: number;
  uniqueVulnId: string;
  /**
   * LAST_UPDATE_DATETIME and LAST_PROCESSED_DATETIME (what `detection_updated_*` and
   * `detection_processed_*` compare). Generated detections carry estate times; detections an
   * `advance` changed or added carry its wall-clock time.
   */
  lastUpdate: string;
  lastProcessed: string;
}

export interface TruthHost {
  id: string;
  /** The QPS HostAsset id (also Host List ASSET_ID); absent for hosts that have no HostAsset. */
  assetId?: string;
  ip?: string;
  ipv6?: string;
  fqdn?: string;
  dnsHostname?: string;
  netbios?: string;
  os?: string;
  trackingMethod: string;
  assetCriticalityScore?: number;
  truriskScore?: number;
  lastVmScan?: string;
  /**
   * Wall-clock time (not estate time) of the `advance` call that last added or changed the host;
   * absent for hosts unchanged since generation 0. The one truth field that depends on the clock.
   */
  lastProcessedAt?: string;
  /** From the QPS HostAsset record; empty when the host has no HostAsset. */
  interfaces: TruthInterface[];
  /** Realistic profile: the cloud running the instance (AWS, Azure, GCP) … */
  cloudProvider?: string;
  /** … and the MAC its connector reports, found only in the HostAsset `sourceInfo`. */
  cloudMacAddress?: string;
  /** Every detection the simulator holds for the host, including Fixed ones (HLD omits Fixed by default). */
  detections: TruthDetection[];
}

export interface TruthKnowledgeBaseEntry {
  cves: string[];
  severity: number;
  title: string;
  /** Realistic profile: VENDOR_REFERENCE_LIST and BUGTRAQ_LIST IDs, which are never CVEs. */
  vendorReferences?: string[];
  bugtraqIds?: string[];
}

export interface GroundTruth {
  /** 0 as generated; each `advance` adds one. */
  generation: number;
  hosts: TruthHost[];
  knowledgeBase: Record<string, TruthKnowledgeBaseEntry>;
}

/**
 * How far one `advance` moves the estate. Shares are of the hosts present before the call; a share
 * above 0 changes at least one host (when there is one).
 */
export interface AdvanceOptions {
  /** New hosts (never-used IDs), as a share of the hosts before; default 0.01, but 0 when `removedShare` ≥ 1. */
  addedShare?: number;
  /** Hosts removed, 0–1; default 0.01. 1 removes every host (an emptied estate). */
  removedShare?: number;
  /** Remaining hosts whose detections change (fixed, found, reopened), 0–1; default 0.03. */
  changedShare?: number;
  /** KnowledgeBase QIDs in use by open detections that gain a CVE; default 2 (one had no CVE, one had some). */
  qidsGainingCve?: number;
}

/** What one `advance` changed. Host IDs and QIDs ascending. */
export interface AdvanceSummary {
  generation: number;
  added: string[];
  removed: string[];
  /** Existing hosts whose detections changed. */
  changed: string[];
  /** Detections that became Fixed, were newly found (New) and were reopened (Re-Opened). */
  fixed: number;
  found: number;
  reopened: number;
  qidsGainingCve: string[];
}

export interface RunningSimulator {
  /** The API base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The first user's credentials. */
  username: string;
  password: string;
  stats(): SimulatorStats;
  resetStats(): void;
  setFaults(plan: FaultPlan | FaultPlan[]): void;
  clearFaults(): void;
  truth(): GroundTruth;
  /** Moves the estate one generation on (see {@link AdvanceOptions}); same seed and options ⇒ same estate. */
  advance(options?: AdvanceOptions): AdvanceSummary;
  close(): Promise<void>;
}
