// The run's contract: what the workflow, its activities and the store pass each other. Only small
// references and counts cross into workflow history: page data is staged in the store and read back by
// the next step, on whichever worker it runs.


/** A page is a contiguous range of Qualys host IDs (inclusive). */
export interface PageRange {
  index: number;
  idMin: number;
  idMax: number;
  /** Hosts of the range the run asks for (in an incremental run, the changed ones). */
  hosts: number;
  /**
   * Incremental runs: the page asks Qualys for the hosts of its range listed in the store's page list
   * (the changed ones), not for every host of the range.
   */
  listedHosts?: boolean;
}

/** full: every host. incremental: only the hosts Qualys processed since the last committed run. */
export type RunMode = 'full' | 'incremental';

/** What a run does and why (decided at enumeration, from the store and Qualys' time). */
export interface RunPlan {
  mode: RunMode;
  /** Incremental runs: hosts processed after this (the watermark minus the overlap), Qualys' time. */
  since?: string;
  reason: string;
}

/** Identifies one connector run across retries and continue-as-new. */
export interface RunRef {
  connection: string;
  /** Stable for the whole run (the first execution's run ID). */
  runKey: string;
  workflowId: string;
  startedAt: string;
}

export interface PageRef {
  run: RunRef;
  page: PageRange;
}

export interface ValidationResult {
  apiUrl: string;
  username: string;
  concurrencyLimit?: number;
  rateLimit?: number;
  rateWindowSeconds?: number;
  rateRemaining?: number;
  /** Qualys' time at the run's first call (RESPONSE/DATETIME): the run's watermark when it commits. */
  qualysTime?: string;
}

export interface KnowledgeBaseRefreshed {
  /** QIDs Qualys changed since the last committed run (their cached CVE lists were replaced). */
  refreshed: number;
  since?: string;
}

export interface EnumerationResult {
  /** Hosts in the estate (the host ID set). */
  hostCount: number;
  /** Hosts the pages ask for: the estate in a full run, the changed and new ones in an incremental run. */
  hostsAsked: number;
  pages: PageRange[];
  plan: RunPlan;
}

export interface DetectionsFetched {
  hosts: number;
  detections: number;
  /** QIDs of the page the QID → CVE cache does not know yet: 0 when the page can be applied at once. */
  unknownQids?: number;
}

export interface PageMapped {
  assets: number;
  findings: number;
  detections: number;
  /** Detections whose QID the KnowledgeBase maps to no CVE. */
  droppedNoCve: number;
  /** Detections whose QID the KnowledgeBase does not know. */
  droppedUnknownQid: number;
  /** Hosts Host List Detection returned outside the host ID set: not part of the estate (see page-mapping.ts). */
  hostsOutsideIdSet?: number;
  knowledgeBaseLookups: number;
  /** Records of the page's answers that could not be read, set aside in `rejected_records` (absent when none). */
  rejectedRecords?: number;
  /** Hosts whose asset and findings the page left as they were, because a record about them could not be read. */
  hostsKept?: number;
}

export interface RunTotals {
  /** Hosts in the estate. */
  hosts: number;
  /** Hosts the run asked Qualys for (all of them in a full run). */
  hostsAsked?: number;
  assets: number;
  detections: number;
  findings: number;
  droppedNoCve: number;
  droppedUnknownQid: number;
  /** Hosts Host List Detection returned outside the host ID set (absent when none). */
  hostsOutsideIdSet?: number;
  /** Records Qualys sent that could not be read, set aside in `rejected_records` (absent when none). */
  rejectedRecords?: number;
  /** Hosts whose asset and findings were left as they were, because a record about them could not be read (absent when none). */
  hostsKept?: number;
  pages: number;
  /** QIDs looked up in the KnowledgeBase because the cache did not know them. */
  knowledgeBaseLookups: number;
}

/** What the workflow itself measured and the activities cannot know. */
export interface RunTimings {
  /** Seconds the run slept on durable timers waiting out Qualys rate limits. */
  rateLimitTimerSeconds: number;
  continuedAsNew: number;
}

export interface CommitResult {
  runKey: string;
  /** What the commit changed in the connection's current state. */
  changes: StateChanges;
  /** The current state after the commit, by lifecycle status. */
  state: StateCounts;
}

/** What a commit changed in the connection's current state. */
export interface StateChanges {
  assetsAdded: number;
  /** Assets that were `removed` and came back. */
  assetsReturned: number;
  assetsRemoved: number;
  /** Removed assets deleted once their retention ran out (with their findings). */
  assetsDeleted: number;
  findingsOpened: number;
  findingsReopened: number;
  /** Closed because Qualys reports all their evidence Fixed. */
  findingsFixed: number;
  findingsNoLongerReported: number;
  findingsAssetRemoved: number;
}

/** The connection's current state after a commit, by lifecycle status. */
export interface StateCounts {
  assetsActive: number;
  assetsRemoved: number;
  findingsOpen: number;
  findingsFixed: number;
}

/**
 * One record in a thousand may be unreadable; past that, something is wrong beyond an odd record. (The
 * workflow's input default, and the commit's for runs started before the input had it.)
 */
export const DEFAULT_MAX_REJECTED_SHARE = 0.001;
