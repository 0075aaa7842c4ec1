// One lane runner for every place that works through a list a few items at a time: the workflow's page
// lanes, the activities' KnowledgeBase batches, the benchmark's plain loop. Plain promises and nothing
// else, so workflow code can import it (it is deterministic and has no side effects).

export interface LaneOptions {
  /** Where the lanes start and how far they got (the workflow carries it across continue-as-new). */
  cursor?: { next: number };
  /** Asked after each item: once it says stop, lanes take no more items and finish what they hold. */
  stopTaking?: () => boolean;
  /** Told of each failure as it happens, e.g. to cancel what the other lanes are doing. */
  onFailure?: (error: unknown) => void;
  /** Whether a later failure is the one to report instead of the one kept; by default the first wins. */
  prefer?: (later: unknown, kept: unknown) => boolean;
}

/**
 * Runs `work` over `items` in order, at most `lanes` at once: each lane takes the next item as soon as it
 * is done with one. After a failure no lane takes another item; every lane ends before this returns, so
 * nothing started here still runs, and then the failure is thrown.
 */
export async function inLanes<T>(items: readonly T[], lanes: number, work: (item: T) => Promise<void>, options: LaneOptions = {}): Promise<void> {
  const cursor = options.cursor ?? { next: 0 };
  let stopped = false;
  let failure: { error: unknown } | undefined;
  const keep = (error: unknown): void => {
    if (failure === undefined || options.prefer?.(error, failure.error)) failure = { error };
  };
  const lane = async (): Promise<void> => {
    while (!stopped && failure === undefined && cursor.next < items.length) {
      const item = items[cursor.next++] as T;
      try {
        await work(item);
      } catch (error) {
        keep(error);
        options.onFailure?.(error);
        return;
      }
      if (options.stopTaking?.()) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
  if (failure !== undefined) throw failure.error;
}
