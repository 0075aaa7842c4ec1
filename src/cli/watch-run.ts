import type { WorkflowHandle } from '@temporalio/client';
import { progressQuery, type SyncProgress } from '../workflows/progress';
import type { SyncResult } from '../workflows/qualys-sync';

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
  const pages = p.pagesTotal > 0 ? `${bar(p.pagesDone, p.pagesTotal)} ${p.pagesDone}/${p.pagesTotal} pages` : '';
  return [
    `${p.phase.padEnd(13)}`,
    pages,
    `hosts ${p.hosts}`,
    `assets ${p.assets}`,
    `detections ${p.detections}`,
    `findings ${p.findings}`,
  ]
    .filter(Boolean)
    .join('  ');
}

function bar(done: number, total: number, width = 20): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
