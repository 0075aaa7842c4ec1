import type { WorkflowHandle } from '@temporalio/client';
import { progressQuery, type SyncProgress } from '../workflows/progress';
import type { RunReport } from '../store/types';
import type { SyncResult } from '../workflows/sync-result';

/** Prints a line whenever the run's progress changes, until it ends; returns its result or throws its failure. */
export async function watchRun(handle: WorkflowHandle, out: NodeJS.WritableStream = process.stdout): Promise<SyncResult> {
  const result = handle.result() as Promise<SyncResult>;
  let finished = false;
  result.then(
    () => (finished = true),
    () => (finished = true),
  );
  let last = '';
  while (!finished) {
    try {
      const line = describeProgress(await handle.query(progressQuery));
      if (line !== last) out.write(`  ${line}\n`);
      last = line;
    } catch {
      // No worker has answered yet, or the run just closed: the next poll or the result will tell.
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
  }
  return result;
}

export function describeProgress(p: SyncProgress): string {
  // A worker from before pagesApplied answers with its first name only.
  const applied = p.pagesApplied ?? p.pagesDone;
  const pages = p.pagesTotal > 0 ? `${bar(p.pagesFetched + applied, 2 * p.pagesTotal)} fetched ${p.pagesFetched}/${p.pagesTotal}, applied ${applied}/${p.pagesTotal}` : '';
  if (p.rateLimitWait) return `${p.phase.padEnd(15)}  ${pages}  waiting for the Qualys rate limit until ${p.rateLimitWait.until}`;
  return [`${p.phase.padEnd(15)}`, pages, `hosts ${p.hosts}`, `assets ${p.assets}`, `findings ${p.findings}`].filter(Boolean).join('  ');
}

function bar(done: number, total: number, width = 20): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** The run report's figures, as the demo and the CLI print them at the end of a run. */
export function formatReport(r: RunReport): string {
  const t = r.totals;
  const calls = Object.entries(r.apiCalls.callsByEndpoint)
    .map(([endpoint, n]) => `${endpoint} ${n}`)
    .join(', ');
  const failures = Object.entries(r.apiCalls.failuresByCode)
    .map(([code, n]) => `${code} ×${n}`)
    .join(', ');
  const replaced = Object.entries(r.apiCalls.replacedCharacters ?? {})
    .map(([field, n]) => `${n.characters} in ${field} of ${n.values}`)
    .join(', ');
  const dropped = Object.entries(r.apiCalls.droppedValues ?? {})
    .map(([field, n]) => `${field} ×${n}`)
    .join(', ');
  const c = r.changes;
  const plan = r.plan ?? { mode: 'full', reason: 'a full run' };
  return [
    `  mode:       ${plan.mode}${plan.since ? `, hosts processed since ${plan.since}` : ''} (${plan.reason}); ${t.hostsAsked ?? t.hosts} of ${t.hosts} hosts asked for`,
    `  assets:     ${t.assets} (of ${t.hosts} hosts, ${t.pages} pages)`,
    `  findings:   ${t.findings} (asset × CVE) from ${t.detections} detections`,
    `  dropped:    ${r.dropped.qidWithoutCve} detections whose QID has no CVE, ${r.dropped.qidNotInKnowledgeBase} whose QID the KnowledgeBase does not know`,
    `  API calls:  ${r.apiCalls.total} (${calls || 'none'})${failures ? `; refused or failed: ${failures}` : ''}`,
    ...(replaced ? [`  replaced:   characters read as U+FFFD (invalid bytes, characters XML forbids): ${replaced}`] : []),
    ...(dropped ? [`  odd values: dropped from their records (not of the form Qualys documents): ${dropped}`] : []),
    ...(t.rejectedRecords ?? r.apiCalls.rejectedRecords
      ? [
          `  rejected:   ${t.rejectedRecords ?? r.apiCalls.rejectedRecords} records that could not be read (table rejected_records); ` +
            `${t.hostsKept ?? 0} hosts kept as they were`,
        ]
      : []),
    `  waiting:    ${r.waiting.rateLimitTimerSeconds} s on rate-limit timers, ${r.waiting.retryDelaySeconds} s of retry delays`,
    `  duration:   ${r.durationSeconds} s${r.continuedAsNew > 0 ? `, continued as new ${r.continuedAsNew}×` : ''}`,
    `  changes:    assets +${c.assetsAdded} new, ${c.assetsReturned} back, ${c.assetsRemoved} removed; findings +${c.findingsOpened} new, ${c.findingsReopened} reopened, ` +
      `${c.findingsFixed} fixed, ${c.findingsNoLongerReported} no longer reported, ${c.findingsAssetRemoved} closed with their asset`,
    `  store now:  ${r.state.assetsActive} active and ${r.state.assetsRemoved} removed assets; ${r.state.findingsOpen} open and ${r.state.findingsFixed} fixed findings`,
  ].join('\n');
}
