import { defineQuery } from '@temporalio/workflow';
import type { RateLimitWaitProgress, RunState, SyncPhase } from './run-state';

/** What the `progress` query answers: the run's state as people and scripts read it. */
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
  /** Pages mapped and applied: compared with the connection's current state, their changes staged for the commit. */
  pagesApplied: number;
  /** The same as `pagesApplied` (its first name, kept for scripts that read it). */
  pagesDone: number;
  /** Calls at once per API. */
  pageConcurrency: number;
  /** Pages being worked on at once in the current pass (fetching takes two more than the calls allowed). */
  pagesAtOnce?: number;
  hosts: number;
  assets: number;
  detections: number;
  findings: number;
  droppedNoCve: number;
  droppedUnknownQid: number;
  /** Records Qualys sent that could not be read, set aside in `rejected_records` (pages applied so far). */
  rejectedRecords?: number;
  /** Hosts whose asset and findings are left as they were, because a record about them could not be read. */
  hostsKept?: number;
  /** Present while the run waits out a Qualys rate limit on a durable timer. */
  rateLimitWait?: RateLimitWaitProgress;
  continuedAsNew: number;
  /** Why the run ended without committing (phase 'skipped', 'cancelled' or 'failed'). */
  ended?: string;
}

/** `temporal workflow query --name progress` answers with the run's SyncProgress. */
export const progressQuery = defineQuery<SyncProgress>('progress');

/** The progress of a run in `state` (derived when asked, never kept as a second copy). */
export function progressOf(state: RunState): SyncProgress {
  const { totals } = state;
  return {
    connection: state.run.connection,
    phase: state.phase,
    mode: state.plan?.mode,
    since: state.plan?.since,
    pagesTotal: state.pages.length,
    pagesFetched: state.pagesFetched,
    pagesApplied: totals.pages,
    pagesDone: totals.pages,
    pageConcurrency: state.callsPerApi,
    pagesAtOnce: state.phase === 'fetching pages' ? state.pagesInFlight : (state.applyLanes ?? state.callsPerApi),
    hosts: totals.hosts,
    assets: totals.assets,
    detections: totals.detections,
    findings: totals.findings,
    droppedNoCve: totals.droppedNoCve,
    droppedUnknownQid: totals.droppedUnknownQid,
    rejectedRecords: totals.rejectedRecords ?? 0,
    hostsKept: totals.hostsKept ?? 0,
    rateLimitWait: state.rateLimitWait,
    continuedAsNew: state.timings.continuedAsNew,
    ended: state.ended,
  };
}

/**
 * The Web UI's "current details" of a run (Markdown). Compact on purpose: the UI gives it a small
 * panel, so the most urgent line (a rate-limit wait) comes first and lines break without paragraphs.
 */
export function renderCurrentDetails(p: SyncProgress): string {
  if (p.phase === 'skipped') return `**Skipped:** ${p.ended ?? 'another run of the connection is in progress'}`;
  const lines: string[] = [];
  if (p.ended) lines.push(`**${p.phase === 'cancelled' ? 'Cancelled' : 'Failed'}:** ${p.ended}`);
  if (p.rateLimitWait) {
    lines.push(`**Waiting for the Qualys rate limit until ${p.rateLimitWait.until}**${p.rateLimitWait.endpoint ? ` (${p.rateLimitWait.endpoint})` : ''}`);
  }
  const atOnce = p.pagesAtOnce ?? p.pageConcurrency;
  lines.push(
    `**Phase:** ${p.phase}${p.mode ? ` · **Mode:** ${p.mode}${p.since ? ` (hosts processed since ${p.since})` : ''}` : ''} · **Pages:** ${p.pagesFetched} of ${p.pagesTotal} fetched, ${p.pagesApplied} applied${atOnce > 1 ? ` (${atOnce} at a time)` : ''}`,
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
