import type { ApiCallSummary } from '../activities/call-log';
import type { CommitResult, RunRef, RunTotals } from '../activities/contracts';
import type { Asset, Finding } from '../model/exposure';

/** What the KnowledgeBase says about one QID, cached in the sink so later runs ask Qualys only for new QIDs. */
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
  /** The run's start: the next incremental run asks Qualys for what changed after it. */
  watermark: string;
}

export interface SinkState {
  watermark?: string;
  lastRunKey?: string;
}

/**
 * Where mapped data goes (DESIGN.md §6). Every write is an idempotent upsert by key, and a run's
 * results become visible only when `commitRun` succeeds.
 */
export interface ExposureSink {
  /** Stages one page of a run; writing the same page again replaces it. */
  writePage(run: RunRef, pageKey: string, records: { assets: Asset[]; findings: Finding[] }): Promise<void>;
  readState(connection: string): Promise<SinkState>;
  readKnowledgeBase(connection: string, qids: readonly string[]): Promise<Map<string, KnowledgeBaseEntry>>;
  saveKnowledgeBase(connection: string, entries: readonly KnowledgeBaseEntry[]): Promise<void>;
  /** Makes the run's pages the connection's current state and writes the run report. Idempotent. */
  commitRun(run: RunRef, report: RunReport): Promise<CommitResult>;
}
