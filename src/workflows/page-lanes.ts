import { CancellationScope, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { PageRange } from '../contracts/run';

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
  let stopTaking = false;
  let failure: unknown;
  const scope = new CancellationScope();
  const lane = async (): Promise<void> => {
    while (!stopTaking && failure === undefined && cursor.next < pages.length) {
      const page = pages[cursor.next++];
      try {
        await work(page);
      } catch (err) {
        // A sibling cancelled by this scope reports a cancellation; the failure that caused it wins.
        if (failure === undefined || (isCancellation(failure) && !isCancellation(err))) failure = err;
        scope.cancel();
        return;
      }
      if (workflowInfo().continueAsNewSuggested) stopTaking = true;
    }
  };
  await scope.run(() => Promise.all(Array.from({ length: Math.min(lanes, pages.length) }, lane)));
  if (failure !== undefined) throw failure;
  return cursor.next >= pages.length;
}
