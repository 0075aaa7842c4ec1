import { CancellationScope, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { PageRange } from '../contracts/run';
import { inLanes } from '../lanes/in-lanes';

/**
 * Works through a run's pages in `lanes` side by side, in order, from `cursor.next`. When Temporal
 * suggests continuing as new, lanes stop taking pages and finish what they hold. When a page fails, the
 * other lanes' steps are cancelled and awaited, so the run never cleans up under a step still running;
 * the first real failure is then thrown. Returns whether every page is done.
 */
export async function runPageLanes(
  pages: readonly PageRange[],
  lanes: number,
  cursor: { next: number },
  work: (page: PageRange) => Promise<void>,
): Promise<boolean> {
  let failure: { error: unknown } | undefined;
  const scope = new CancellationScope();
  await scope.run(() =>
    inLanes(pages, lanes, work, {
      cursor,
      stopTaking: () => workflowInfo().continueAsNewSuggested,
      onFailure: () => scope.cancel(),
      // A sibling cancelled by this scope reports a cancellation; the failure that caused it wins.
      prefer: (later, kept) => isCancellation(kept) && !isCancellation(later),
    }).catch((error: unknown) => {
      failure = { error };
    }),
  );
  if (failure !== undefined) throw failure.error;
  return cursor.next >= pages.length;
}
