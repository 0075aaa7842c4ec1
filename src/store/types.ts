import type { ApiCallSummary } from '../contracts/calls';
import type { RunPlan, RunTotals, StateChanges, StateCounts } from '../contracts/run';

/** What the KnowledgeBase says about one QID, cached in the store so later runs ask Qualys only for new QIDs. */
export interface KnowledgeBaseEntry {
  qid: string;
  cves: string[];
  severity?: number;
  title?: string;
  lastServiceModified?: string;
  /** The KnowledgeBase did not know this QID when it was asked. */
  unknown?: boolean;
}

export interface RunReport {
  modelVersion: string;
  connection: string;
  workflowId: string;
  runKey: string;
  startedAt: string;
  committedAt: string;
  durationSeconds: number;
  totals: RunTotals;
  dropped: { qidWithoutCve: number; qidNotInKnowledgeBase: number };
  apiCalls: ApiCallSummary & { total: number };
  waiting: { rateLimitTimerSeconds: number; retryDelaySeconds: number };
  continuedAsNew: number;
  /** Qualys' time at the run's first call: the next incremental run asks for what changed after it. */
  watermark: string;
  /** Full or incremental, why, and since when (incremental). */
  plan: RunPlan;
  changes: StateChanges;
  state: StateCounts;
}

/** The last committed run of a connection. */
export interface ConnectionState {
  runKey?: string;
  watermark?: string;
  hostCount?: number;
  /** The watermark of the connection's last committed full run. */
  lastFullAt?: string;
}

/** When a commit must refuse a run whose estate collapsed, and how long removed assets are kept. */
export interface CommitPolicy {
  allowShrink: boolean;
  /** Fail when the host count drops by more than this share of the last committed run's (0–1). */
  maxShrinkShare: number;
  removedAssetRetentionDays: number;
}

/** The parts of a page that are Qualys' answers, one per API. */
export type AnswerPart = 'hosts' | 'hostAssets' | 'detections';

/**
 * What Qualys answered for one page, staged per API so a retry fetches only what is missing; beside each
 * answer, in the same transaction, the records of it that could not be read (`hostsRejected` …).
 */
export type StagedPart = AnswerPart | 'qids' | `${AnswerPart}Rejected`;
