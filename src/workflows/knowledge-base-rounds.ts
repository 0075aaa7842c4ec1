import { QIDS_PER_KNOWLEDGE_BASE_CALL, type KnowledgeBaseRound, type KnowledgeBaseRoundResult } from '../contracts/knowledge-base-lookup';

// KnowledgeBase lookups during the fetch pass: the QIDs of the fetched pages the QID → CVE cache does not
// know are looked up in rounds while pages are still being fetched, so a page that waited for them is
// applied long before the fetch pass ends. Plain, deterministic code: the run state (run-state.ts) and
// the benchmark that measures the policy use it; what a round asks the activity for is in
// src/contracts/knowledge-base-lookup.ts.

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
  /** A round's lookup is running (never when carried: lanes finish their round before the run continues). */
  roundInFlight?: boolean;
}

/** The fetched pages waiting for QIDs the cache did not know (by index), and where the rounds stand. */
export interface QidWait {
  waiting: readonly number[];
  rounds: KnowledgeBaseRoundsCarried;
}

/** How far the fetch pass is. */
export interface FetchProgress {
  pagesFetched: number;
  pagesTotal: number;
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

/** A fetched page that lacks QIDs the cache does not know (`unknownQids` of them) waits. */
export function pageArrived(wait: QidWait, page: number, unknownQids: number): QidWait {
  const { rounds } = wait;
  return {
    waiting: [...wait.waiting, page],
    rounds: { ...rounds, pagesSinceRound: rounds.pagesSinceRound + 1, unknownQidsSinceRound: rounds.unknownQidsSinceRound + unknownQids },
  };
}

/**
 * The round to start now, if any: none while one is in flight or no waiting page arrived since the
 * last, and none that could look up nothing (no part-filled batch left to spend, and too few QIDs
 * waiting for a whole one).
 */
export function roundToStart(wait: QidWait, progress: FetchProgress): { round: KnowledgeBaseRound; next: QidWait } | undefined {
  const { rounds } = wait;
  if (rounds.roundInFlight || rounds.pagesSinceRound === 0) return undefined;
  const atMostUnknown = (rounds.unknownQids ?? 0) + rounds.unknownQidsSinceRound;
  if (rounds.partialCallsLeft <= 0 && atMostUnknown < QIDS_PER_KNOWLEDGE_BASE_CALL) return undefined;
  return {
    // Decided on what earlier rounds saw: this round's pages have not been counted yet.
    round: { waiting: [...wait.waiting].sort((a, b) => a - b), partial: partialRoundDue(rounds, progress) },
    next: {
      waiting: wait.waiting,
      rounds: {
        ...rounds,
        roundInFlight: true,
        // Counted as bringing no new QID until the round's result says otherwise.
        pagesWithoutNewQids: rounds.pagesWithoutNewQids + rounds.pagesSinceRound,
        pagesSinceRound: 0,
        unknownQidsSinceRound: 0,
      },
    },
  };
}

/** A round ended: the pages now to apply (in page order), no longer waiting. */
export function roundEnded(wait: QidWait, round: KnowledgeBaseRound, result: KnowledgeBaseRoundResult): { released: number[]; next: QidWait } {
  const { rounds } = wait;
  const known = new Set(result.known ?? []);
  const unknownBefore = result.lookedUp + (result.unknownQids ?? 0);
  const grew = rounds.unknownQids === undefined || unknownBefore > rounds.unknownQids;
  const spent = round.partial && result.lookedUp % QIDS_PER_KNOWLEDGE_BASE_CALL !== 0 ? 1 : 0;
  return {
    released: wait.waiting.filter((page) => known.has(page)).sort((a, b) => a - b),
    next: {
      waiting: wait.waiting.filter((page) => !known.has(page)),
      rounds: {
        ...rounds,
        roundInFlight: false,
        pagesWithoutNewQids: grew ? 0 : rounds.pagesWithoutNewQids,
        unknownQids: result.unknownQids ?? 0,
        partialCallsLeft: rounds.partialCallsLeft - spent,
        partialCallsSpent: rounds.partialCallsSpent + spent,
      },
    },
  };
}

function partialRoundDue(rounds: KnowledgeBaseRoundsCarried, { pagesFetched, pagesTotal }: FetchProgress): boolean {
  const { partialCallsLeft, partialCallsSpent, pagesWithoutNewQids, unknownQids } = rounds;
  if (partialCallsLeft <= 0) return false;
  const budget = partialCallsLeft + partialCallsSpent;
  const scheduled = pagesFetched * (budget + 1) >= pagesTotal * (partialCallsSpent + 1);
  const ahead = partialCallsSpent - Math.floor((pagesFetched * (budget + 1)) / Math.max(1, pagesTotal));
  const stalled = unknownQids !== undefined && pagesWithoutNewQids >= PAGES_WITHOUT_NEW_QIDS_BEFORE_A_PARTIAL_ROUND && ahead < 1;
  return stalled || scheduled;
}

/**
 * The same policy for code that drives rounds step by step outside a workflow (the policy bench, unit
 * tests): it holds the value the functions above replace.
 */
export class KnowledgeBaseRounds {
  private wait: QidWait;

  constructor(waiting: readonly number[], rounds: KnowledgeBaseRoundsCarried) {
    this.wait = { waiting, rounds };
  }

  get waiting(): readonly number[] {
    return this.wait.waiting;
  }

  carried(): KnowledgeBaseRoundsCarried {
    return { ...this.wait.rounds };
  }

  /** A page was fetched: true when it is to be applied at once, false when it waits for QIDs. */
  arrived(page: number, unknownQids: number): boolean {
    if (unknownQids === 0) return true;
    this.wait = pageArrived(this.wait, page, unknownQids);
    return false;
  }

  startRound(progress: FetchProgress): KnowledgeBaseRound | undefined {
    const started = roundToStart(this.wait, progress);
    if (started) this.wait = started.next;
    return started?.round;
  }

  finishRound(round: KnowledgeBaseRound, result: KnowledgeBaseRoundResult): number[] {
    const ended = roundEnded(this.wait, round, result);
    this.wait = ended.next;
    return ended.released;
  }
}
