import { defineQuery } from '@temporalio/workflow';

export type SyncPhase = 'validating' | 'enumerating' | 'syncing pages' | 'committing' | 'done' | 'skipped';

export interface RateLimitWaitProgress {
  /** When the run may call Qualys again (ISO 8601). */
  until: string;
  endpoint?: string;
}

export interface SyncProgress {
  connection: string;
  phase: SyncPhase;
  pagesTotal: number;
  pagesDone: number;
  pageConcurrency: number;
  hosts: number;
  assets: number;
  detections: number;
  findings: number;
  droppedNoCve: number;
  droppedUnknownQid: number;
  /** Present while the run waits out a Qualys rate limit on a durable timer. */
  rateLimitWait?: RateLimitWaitProgress;
  continuedAsNew: number;
}

/** `temporal workflow query --name progress` answers with the run's SyncProgress. */
export const progressQuery = defineQuery<SyncProgress>('progress');

/** The Web UI's "current details" of a run (Markdown). */
export function renderCurrentDetails(p: SyncProgress): string {
  const lines = [
    `**Phase:** ${p.phase}`,
    `**Pages:** ${p.pagesDone} of ${p.pagesTotal}${p.pageConcurrency > 1 ? ` (${p.pageConcurrency} at a time)` : ''}`,
    `**Hosts:** ${p.hosts} · **Assets:** ${p.assets} · **Detections:** ${p.detections} · **Findings:** ${p.findings}`,
    `**Dropped detections:** ${p.droppedNoCve} (QID without CVE) · ${p.droppedUnknownQid} (QID unknown to the KnowledgeBase)`,
  ];
  if (p.rateLimitWait) {
    lines.push(`**Waiting for the Qualys rate limit until ${p.rateLimitWait.until}**${p.rateLimitWait.endpoint ? ` (${p.rateLimitWait.endpoint})` : ''}`);
  }
  if (p.continuedAsNew > 0) lines.push(`Continued as new ${p.continuedAsNew} time(s)`);
  return lines.join('\n\n');
}
