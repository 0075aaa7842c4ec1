import { QIDS_PER_KNOWLEDGE_BASE_CALL, planLookup, type KnowledgeBaseRound } from '../../src/contracts/knowledge-base-lookup';
import { KnowledgeBaseRounds, partialCallBudget, startingRounds } from '../../src/workflows/knowledge-base-rounds';

const qids = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => String(from + i));

describe('partialCallBudget', () => {
  it('allows a part-filled batch per 100 of the calls every run makes, none below that', () => {
    expect(partialCallBudget(20)).toBe(0); // 64 calls at least
    expect(partialCallBudget(32)).toBe(1); // 100
    expect(partialCallBudget(50)).toBe(1); // 154
    expect(partialCallBudget(100)).toBe(3); // 304
    expect(partialCallBudget(1000)).toBe(30);
  });
});

describe('planLookup', () => {
  it('takes whole batches of the earliest pages\' QIDs and names the pages that then know all theirs', () => {
    const planned = planLookup(
      [
        { page: 4, qids: qids(2000, 300) },
        { page: 1, qids: qids(0, 400) },
        { page: 2, qids: [...qids(350, 200), ...qids(1000, 300)] },
      ],
      false,
    );
    // 400 + 150 new of page 2 + 300 more of page 2 + 300 of page 4 = 1 150 distinct: two whole batches.
    expect(planned.qids).toHaveLength(2 * QIDS_PER_KNOWLEDGE_BASE_CALL);
    expect(planned.qids.slice(0, 400)).toEqual(qids(0, 400));
    expect(planned.known).toEqual([1, 2]);
    expect(planned.unknownQids).toBe(150);
  });

  it('takes every QID when it may fill a batch in part, and then every page is known', () => {
    const planned = planLookup([{ page: 3, qids: qids(0, 10) }, { page: 0, qids: [] }], true);
    expect(planned).toEqual({ qids: qids(0, 10), known: [0, 3], unknownQids: 0 });
  });

  it('takes nothing short of a whole batch, but still names a page that lacks no QID any more', () => {
    expect(planLookup([{ page: 5, qids: qids(0, 499) }, { page: 6, qids: [] }], false)).toEqual({ qids: [], known: [6], unknownQids: 499 });
  });
});

describe('KnowledgeBaseRounds', () => {
  /** Runs one round as the activity would, with the cache knowing `cached` QIDs; returns the pages released. */
  const runRound = (rounds: KnowledgeBaseRounds, round: KnowledgeBaseRound, byPage: Map<number, string[]>, cached: Set<string>): number[] => {
    const planned = planLookup(
      round.waiting.map((page) => ({ page, qids: (byPage.get(page) ?? []).filter((q) => !cached.has(q)) })),
      round.partial,
    );
    for (const q of planned.qids) cached.add(q);
    return rounds.finishRound(round, { lookedUp: planned.qids.length, known: planned.known, unknownQids: planned.unknownQids });
  };

  it('applies a page whose QIDs are known at once and keeps one that lacks some waiting', () => {
    const rounds = new KnowledgeBaseRounds([], startingRounds(10));
    expect(rounds.arrived(0, 0)).toBe(true);
    expect(rounds.arrived(1, 3)).toBe(false);
    expect(rounds.waiting).toEqual([1]);
  });

  it('keeps at most one round in flight and starts one only for pages that arrived since the last', () => {
    const rounds = new KnowledgeBaseRounds([], startingRounds(50));
    expect(rounds.startRound({ pagesFetched: 0, pagesTotal: 50 })).toBeUndefined();
    rounds.arrived(0, 5);
    const first = rounds.startRound({ pagesFetched: 1, pagesTotal: 50 });
    expect(first).toEqual({ waiting: [0], partial: false });
    rounds.arrived(1, 5);
    expect(rounds.startRound({ pagesFetched: 2, pagesTotal: 50 })).toBeUndefined();
    expect(rounds.finishRound(first!, { lookedUp: 0, known: [], unknownQids: 5 })).toEqual([]);
    expect(rounds.startRound({ pagesFetched: 2, pagesTotal: 50 })).toEqual({ waiting: [0, 1], partial: false });
    expect(rounds.startRound({ pagesFetched: 2, pagesTotal: 50 })).toBeUndefined();
  });

  it('fills a batch in part once two waiting pages in a row brought no new QID, and spends its budget on it', () => {
    // 50 pages: a budget of one part-filled batch.
    const rounds = new KnowledgeBaseRounds([], startingRounds(50));
    const byPage = new Map([
      [0, qids(0, 700)],
      [1, qids(600, 150)], // 50 new
      [2, qids(650, 10)], // nothing new, but QIDs not looked up yet
      [3, qids(700, 20)], // nothing new
      [4, qids(740, 5)],
    ]);
    const cached = new Set<string>();
    const partials: boolean[] = [];
    const released: number[] = [];
    for (const [page, pageQids] of byPage) {
      rounds.arrived(page, pageQids.filter((q) => !cached.has(q)).length);
      const round = rounds.startRound({ pagesFetched: page + 1, pagesTotal: 50 });
      if (!round) continue;
      partials.push(round.partial);
      released.push(...runRound(rounds, round, byPage, cached));
    }
    // Page 0: a whole batch; page 1 brings new QIDs; pages 2 and 3 bring none, so the round after them
    // fills one in part: 750 QIDs in 2 calls, the fewest.
    expect(partials).toEqual([false, false, false, false, true]);
    expect(released).toEqual([0, 1, 2, 3, 4]);
    expect(cached.size).toBe(750);
    expect(rounds.carried()).toMatchObject({ partialCallsLeft: 0, partialCallsSpent: 1 });
    expect(rounds.waiting).toEqual([]);
  });

  it('never fills a batch in part without a budget, and starts a round only when a whole batch may be waiting', () => {
    const rounds = new KnowledgeBaseRounds([], startingRounds(20));
    const byPage = new Map(Array.from({ length: 20 }, (_, page) => [page, qids(0, 30)] as const));
    const cached = new Set<string>();
    const roundsAt: number[] = [];
    for (const [page] of byPage) {
      rounds.arrived(page, 30);
      const round = rounds.startRound({ pagesFetched: page + 1, pagesTotal: 20 });
      if (!round) continue;
      roundsAt.push(page);
      expect(round.partial).toBe(false);
      runRound(rounds, round, byPage, cached);
    }
    // 17 pages of 30 unknown QIDs each could hold 500 distinct ones; the round finds the same 30 in all.
    expect(roundsAt).toEqual([16]);
    expect(cached.size).toBe(0);
    expect(rounds.waiting).toHaveLength(20);
  });

  it('fills a batch in part halfway through the fetch pass when new QIDs keep coming', () => {
    const rounds = new KnowledgeBaseRounds([], startingRounds(50));
    const cached = new Set<string>();
    const byPage = new Map(Array.from({ length: 50 }, (_, page) => [page, qids(page * 10, 10)] as const));
    const partialAt: number[] = [];
    for (const [page, pageQids] of byPage) {
      rounds.arrived(page, pageQids.length);
      const round = rounds.startRound({ pagesFetched: page + 1, pagesTotal: 50 });
      if (round?.partial) partialAt.push(page);
      if (round) runRound(rounds, round, byPage, cached);
    }
    expect(partialAt).toEqual([24]);
    expect(rounds.waiting).toEqual(Array.from({ length: 25 }, (_, i) => 25 + i));
  });

  it('paces part-filled batches after a stall: at most one ahead of the evenly spaced points', () => {
    // 100 pages: a budget of 3, evenly spaced at pages 25, 50 and 75; one already spent on an early stall.
    const stalledAgain = (): KnowledgeBaseRounds =>
      new KnowledgeBaseRounds([4, 9], {
        partialCallsLeft: 2,
        partialCallsSpent: 1,
        unknownQids: 10,
        pagesSinceRound: 1,
        unknownQidsSinceRound: 5,
        pagesWithoutNewQids: 5,
      });
    expect(stalledAgain().startRound({ pagesFetched: 10, pagesTotal: 100 })?.partial).toBe(false);
    expect(stalledAgain().startRound({ pagesFetched: 25, pagesTotal: 100 })?.partial).toBe(true);
  });

  it('carries its waiting pages and counters across continue-as-new and goes on where it was', () => {
    const rounds = new KnowledgeBaseRounds([], startingRounds(50));
    rounds.arrived(3, 7);
    const round = rounds.startRound({ pagesFetched: 4, pagesTotal: 50 })!;
    rounds.finishRound(round, { lookedUp: 0, known: [], unknownQids: 7 });
    rounds.arrived(4, 2);
    const next = new KnowledgeBaseRounds([...rounds.waiting], rounds.carried());
    expect(next.waiting).toEqual([3, 4]);
    expect(next.startRound({ pagesFetched: 5, pagesTotal: 50 })).toEqual({ waiting: [3, 4], partial: false });
  });
});
