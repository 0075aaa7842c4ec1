// KnowledgeBase lookups during the fetch pass: the QIDs of the fetched pages the QID → CVE cache does not
// know are looked up in rounds while pages are still being fetched, so a page that waited for them is
// applied long before the fetch pass ends. Plain, deterministic code: the workflow imports it, and so do
// the activity that makes a round's lookup and the benchmark that measures the policy.

/** QIDs per KnowledgeBase call: the fewest calls for N QIDs is ceil(N / 500). */
export const QIDS_PER_KNOWLEDGE_BASE_CALL = 500;

/**
 * What a run carries across continue-as-new besides the pages waiting for QIDs. Absent in runs that look
 * up their QIDs only after the fetch pass.
 */
export interface KnowledgeBaseRoundsCarried {
  /** Lookups of a part-filled batch the run may still make before its final lookup. */
  partialCallsLeft: number;
  partialCallsSpent: number;
  /** Distinct QIDs the waiting pages lacked after the last round (absent before the first). */
  unknownQids?: number;
  /** Waiting pages that arrived since the last round started: the next round counts their QIDs. */
  pagesSinceRound: number;
  /** Their QIDs the cache did not know, each page counted on its own (so at most that many distinct). */
  unknownQidsSinceRound: number;
  /** Waiting pages counted by rounds since the count of unknown QIDs last grew. */
  pagesWithoutNewQids: number;
}

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
 * A round may fill a batch only in part when, twice in a row, the waiting pages that arrived brought no
 * QID the run had not seen before (the run's new QIDs have probably all been seen, so the part-filled
 * batch is the run's last KnowledgeBase call and costs nothing), or, failing that, at evenly spaced
 * points of the fetch pass. The first kind is paced too — one ahead of the evenly spaced points at
 * most — so an estate whose new QIDs keep trickling in cannot spend the budget early and leave the rest
 * of the pass waiting.
 */
const PAGES_WITHOUT_NEW_QIDS_BEFORE_A_PARTIAL_ROUND = 2;

/**
 * How many part-filled batches a run of `pages` pages may look up early: each may cost one call over the
 * fewest the run needs, and the run stays within 1 % of them. A run makes at least 3 credential probes,
 * one host ID list and 3 calls per page; below 100 of those the budget is 0 and only whole batches of
 * 500 QIDs go early (they cost nothing: the final lookup needs that many fewer calls).
 */
export function partialCallBudget(pages: number): number {
  return Math.floor((4 + 3 * pages) / 100);
}

/** The state of a run's rounds at its start. */
export function startingRounds(pages: number): KnowledgeBaseRoundsCarried {
  return { partialCallsLeft: partialCallBudget(pages), partialCallsSpent: 0, pagesSinceRound: 0, unknownQidsSinceRound: 0, pagesWithoutNewQids: 0 };
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

/**
 * The pages of a run waiting for QIDs and its rounds of KnowledgeBase lookups; at most one round at a
 * time. The workflow tells it of each fetched page and of each round's result; it says which pages to
 * apply and when to start a round.
 */
export class KnowledgeBaseRounds {
  private roundInFlight = false;

  constructor(
    /** Fetched pages waiting for QIDs the cache did not know, by index. */
    readonly waiting: number[],
    private readonly state: KnowledgeBaseRoundsCarried,
  ) {}

  /** What continue-as-new carries (never taken while a round is in flight: lanes finish theirs first). */
  carried(): KnowledgeBaseRoundsCarried {
    return { ...this.state };
  }

  /** A page was fetched: true when it is to be applied at once, false when it waits for QIDs. */
  arrived(page: number, unknownQids: number): boolean {
    if (unknownQids === 0) return true;
    this.waiting.push(page);
    this.state.pagesSinceRound += 1;
    this.state.unknownQidsSinceRound += unknownQids;
    return false;
  }

  /**
   * The round to start now, if any: none while one is in flight or no waiting page arrived since the
   * last, and none that could look up nothing (no part-filled batch left to spend, and too few QIDs
   * waiting for a whole one).
   */
  startRound(progress: { pagesFetched: number; pagesTotal: number }): KnowledgeBaseRound | undefined {
    if (this.roundInFlight || this.state.pagesSinceRound === 0) return undefined;
    const atMostUnknown = (this.state.unknownQids ?? 0) + this.state.unknownQidsSinceRound;
    if (this.state.partialCallsLeft <= 0 && atMostUnknown < QIDS_PER_KNOWLEDGE_BASE_CALL) return undefined;
    // Decided on what earlier rounds saw: this round's pages have not been counted yet.
    const partial = this.partialRoundDue(progress);
    this.roundInFlight = true;
    // Counted as bringing no new QID until the round's result says otherwise.
    this.state.pagesWithoutNewQids += this.state.pagesSinceRound;
    this.state.pagesSinceRound = 0;
    this.state.unknownQidsSinceRound = 0;
    return { waiting: [...this.waiting].sort((a, b) => a - b), partial };
  }

  /** A round ended: the pages now to apply, no longer waiting. */
  finishRound(round: KnowledgeBaseRound, result: KnowledgeBaseRoundResult): number[] {
    this.roundInFlight = false;
    const known = new Set(result.known ?? []);
    const unknownBefore = result.lookedUp + (result.unknownQids ?? 0);
    if (this.state.unknownQids === undefined || unknownBefore > this.state.unknownQids) this.state.pagesWithoutNewQids = 0;
    this.state.unknownQids = result.unknownQids ?? 0;
    if (round.partial && result.lookedUp % QIDS_PER_KNOWLEDGE_BASE_CALL !== 0) {
      this.state.partialCallsLeft -= 1;
      this.state.partialCallsSpent += 1;
    }
    const released = this.waiting.filter((page) => known.has(page));
    this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((page) => !known.has(page)));
    return released.sort((a, b) => a - b);
  }

  private partialRoundDue({ pagesFetched, pagesTotal }: { pagesFetched: number; pagesTotal: number }): boolean {
    const { partialCallsLeft, partialCallsSpent, pagesWithoutNewQids, unknownQids } = this.state;
    if (partialCallsLeft <= 0) return false;
    const budget = partialCallsLeft + partialCallsSpent;
    const scheduled = pagesFetched * (budget + 1) >= pagesTotal * (partialCallsSpent + 1);
    const ahead = partialCallsSpent - Math.floor((pagesFetched * (budget + 1)) / Math.max(1, pagesTotal));
    const stalled = unknownQids !== undefined && pagesWithoutNewQids >= PAGES_WITHOUT_NEW_QIDS_BEFORE_A_PARTIAL_ROUND && ahead < 1;
    return stalled || scheduled;
  }
}

/**
 * Starts rounds while there is one to start, each after the last, and applies the pages each releases
 * (one after the other, so the caller's lane holds one page at a time). Called by a lane after it fetched
 * a page; a lane that finds a round in flight goes on fetching, and the round's lane picks up its page.
 */
export async function lookUpInRounds(
  rounds: KnowledgeBaseRounds,
  progress: () => { pagesFetched: number; pagesTotal: number },
  lookUp: (round: KnowledgeBaseRound) => Promise<KnowledgeBaseRoundResult>,
  apply: (page: number) => Promise<void>,
): Promise<void> {
  for (let round = rounds.startRound(progress()); round !== undefined; round = rounds.startRound(progress())) {
    const released = rounds.finishRound(round, await lookUp(round));
    for (const page of released) await apply(page);
  }
}
