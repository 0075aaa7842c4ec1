import { defineQuery } from '@temporalio/workflow';

export type SyncPhase =
  | 'validating'
  | 'enumerating'
  | 'fetching pages'
  | 'knowledge base'
  | 'uploading pages'
  | 'committing'
  | 'done'
  | 'skipped'
  | 'cancelled'
  | 'failed';

export interface RateLimitWaitProgress {
  /** When the run may call Qualys again (ISO 8601). */
  until: string;
  endpoint?: string;
}

export interface SyncProgress {
  connection: string;
  phase: SyncPhase;
  /** Known once the run has enumerated the estate. */
  mode?: 'full' | 'incremental';
  /** Incremental runs: hosts processed after this (Qualys' time). */
  since?: string;
  pagesTotal: number;
  /** Pages fetched from Qualys and staged. */
  pagesFetched: number;
  /** Pages mapped and uploaded to the sink. */
  pagesDone: number;
  /** Calls at once per API (and pages uploaded at once). */
  pageConcurrency: number;
  /** Pages being worked on at once in the current pass (fetching takes one more than the calls allowed). */
  pagesAtOnce?: number;
  hosts: number;
  assets: number;
  detections: number;
  findings: number;
  droppedNoCve: number;
  droppedUnknownQid: number;
  /** Records Qualys sent that could not be read, set aside in `rejected_records` (pages uploaded so far). */
  rejectedRecords?: number;
  /** Hosts whose asset and findings are left as they were, because a record about them could not be read. */
  hostsKept?: number;
  /** Present while the run waits out a Qualys rate limit on a durable timer. */
  rateLimitWait?: RateLimitWaitProgress;
  continuedAsNew: number;
  /** Why the run ended without committing (phase 'cancelled' or 'failed'). */
  ended?: string;
}

/** `temporal workflow query --name progress` answers with the run's SyncProgress. */
export const progressQuery = defineQuery<SyncProgress>('progress');

/**
 * The Web UI's "current details" of a run (Markdown). Compact on purpose: the UI gives it a small
 * panel, so the most urgent line (a rate-limit wait) comes first and lines break without paragraphs.
 */
export function renderCurrentDetails(p: SyncProgress): string {
  const lines: string[] = [];
  if (p.ended) lines.push(`**${p.phase === 'cancelled' ? 'Cancelled' : 'Failed'}:** ${p.ended}`);
  if (p.rateLimitWait) {
    lines.push(`**Waiting for the Qualys rate limit until ${p.rateLimitWait.until}**${p.rateLimitWait.endpoint ? ` (${p.rateLimitWait.endpoint})` : ''}`);
  }
  lines.push(
    `**Phase:** ${p.phase}${p.mode ? ` · **Mode:** ${p.mode}${p.since ? ` (hosts processed since ${p.since})` : ''}` : ''} · **Pages:** ${p.pagesFetched} of ${p.pagesTotal} fetched, ${p.pagesDone} uploaded${(p.pagesAtOnce ?? p.pageConcurrency) > 1 ? ` (${p.pagesAtOnce ?? p.pageConcurrency} at a time)` : ''}`,
    `**Hosts:** ${p.hosts} · **Assets:** ${p.assets} · **Detections:** ${p.detections} · **Findings:** ${p.findings}`,
    `**Dropped detections:** ${p.droppedNoCve} QID without CVE · ${p.droppedUnknownQid} QID unknown`,
  );
  if (p.rejectedRecords) {
    lines.push(
      `**Rejected records:** ${p.rejectedRecords} could not be read (table rejected_records) · ${p.hostsKept ?? 0} hosts kept as they were`,
    );
  }
  if (p.continuedAsNew > 0) lines.push(`Continued as new ${p.continuedAsNew}×`);
  return lines.join('  \n');
}
