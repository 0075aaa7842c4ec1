// A KnowledgeBase lookup of the pages waiting for QIDs: what the workflow asks for and what the activity
// answers, and how the activity picks the QIDs (shared by the activity, the workflow's round policy and
// the benchmark that measures it). Plain, deterministic code.

/** QIDs per KnowledgeBase call: the fewest calls for N QIDs is ceil(N / 500). */
export const QIDS_PER_KNOWLEDGE_BASE_CALL = 500;

/** One round's lookup: the waiting pages, earliest first, and whether it may fill a batch only in part. */
export interface KnowledgeBaseRound {
  waiting: number[];
  partial: boolean;
}

/** What a round's lookup reports back (fields beyond `lookedUp` are absent from the final lookup of older runs). */
export interface KnowledgeBaseRoundResult {
  /** QIDs asked about. */
  lookedUp: number;
  /** Waiting pages whose QIDs the cache now knows, all of them. */
  known?: number[];
  /** Distinct QIDs the round's waiting pages still lack. */
  unknownQids?: number;
}

/**
 * The QIDs a round looks up: the waiting pages' unknown QIDs, earliest page first, cut to whole batches
 * unless the round may fill one in part; and the waiting pages that then know all their QIDs.
 */
export function planLookup(
  unknownByPage: ReadonlyArray<{ page: number; qids: readonly string[] }>,
  partial: boolean,
): { qids: string[]; known: number[]; unknownQids: number } {
  const ordered = [...unknownByPage].sort((a, b) => a.page - b.page);
  const distinct = [...new Set(ordered.flatMap((p) => p.qids))];
  const take = partial ? distinct.length : distinct.length - (distinct.length % QIDS_PER_KNOWLEDGE_BASE_CALL);
  const qids = distinct.slice(0, take);
  const taken = new Set(qids);
  const known = ordered.filter((p) => p.qids.every((q) => taken.has(q))).map((p) => p.page);
  return { qids, known, unknownQids: distinct.length - take };
}
