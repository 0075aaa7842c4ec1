import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PageMapped, PageRange, RunRef } from '../../src/contracts/run';
import { fromContinuation, resumedState, type SyncContinuation } from '../../src/workflows/legacy-continuation';
import { progressOf, renderCurrentDetails } from '../../src/workflows/progress';
import {
  applyLanesChosen,
  applyPassStarted,
  continued,
  endedWithoutCommit,
  enterPhase,
  enumerated,
  pageApplied,
  pageFetched,
  pagesToApply,
  pageWaitsForQids,
  qidsLookedUp,
  rateLimitWaitChanged,
  rateLimitWaited,
  roundFinished,
  roundStarted,
  roundsStarted,
  skipped,
  startRun,
  validated,
  type RunState,
} from '../../src/workflows/run-state';

// The run's state changes only through these pure functions; the workflow is a script over them.

const run: RunRef = { connection: 'prod', runKey: 'run-1', workflowId: 'sync-prod', startedAt: '2026-12-01T00:00:00.000Z' };
const pages: PageRange[] = [0, 1, 2, 3].map((index) => ({ index, idMin: index * 10 + 1, idMax: index * 10 + 10, hosts: 10 }));
const mapped: PageMapped = { assets: 10, findings: 20, detections: 30, droppedNoCve: 1, droppedUnknownQid: 2, knowledgeBaseLookups: 0 };

/** A run that has enumerated its four pages and applies pages as they arrive. */
function enumeratedRun(appliesAsFetched = true): RunState {
  const checked = validated(startRun(run), { callsPerApi: 2, pagesInFlight: 3, watermark: '2026-12-01T00:00:01.000Z' });
  return enumerated(checked, { hostCount: 40, hostsAsked: 40, pages, plan: { mode: 'full', reason: 'a full run' } }, appliesAsFetched);
}

/** Deep-freezes a state, so a change that edits it instead of replacing it throws. */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) frozen(inner);
    Object.freeze(value);
  }
  return value;
}

/** The continuation a run carried before the run state, as a recorded history's continued execution starts with it. */
function recordedContinuation(history: string): SyncContinuation {
  const file = path.join(__dirname, '..', 'replay', 'histories', `${history}.json`);
  const events = (JSON.parse(readFileSync(file, 'utf8')) as { events: Array<{ workflowExecutionStartedEventAttributes?: { input: { payloads: Array<{ data: string }> } } }> }).events;
  const payload = events[0]?.workflowExecutionStartedEventAttributes?.input.payloads[1];
  if (!payload) throw new Error(`${history} does not start from a continuation`);
  return JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as SyncContinuation;
}

describe('the run state', () => {
  it('starts empty, validating, with one call at a time', () => {
    const state = startRun(run);
    expect(state).toMatchObject({ run, phase: 'validating', pages: [], pass: 'fetch', nextPage: 0, pagesFetched: 0, callsPerApi: 1, pagesInFlight: 1, waitingForQids: [] });
    expect(state.totals.pages).toBe(0);
    expect(progressOf(state)).toMatchObject({ connection: 'prod', phase: 'validating', pagesTotal: 0, pagesApplied: 0, pagesDone: 0, continuedAsNew: 0 });
  });

  it('goes through a run without ever editing a state it was given', () => {
    let state = frozen(enumeratedRun());
    expect(state).toMatchObject({ pages, plan: { mode: 'full' }, callsPerApi: 2, pagesInFlight: 3, watermark: '2026-12-01T00:00:01.000Z', appliesAsFetched: true });
    expect(state.totals).toMatchObject({ hosts: 40, hostsAsked: 40 });
    state = frozen(enterPhase(state, 'fetching pages'));
    // Pages 0 and 3 are applied in their fetch lane; pages 2 and 1 (in the order their fetches ended) wait for QIDs.
    for (let i = 0; i < 2; i++) state = frozen(pageApplied(frozen(pageFetched(state)), mapped));
    expect(state.totals).toMatchObject({ pages: 2, assets: 20, findings: 40, detections: 60, droppedNoCve: 2, droppedUnknownQid: 4 });
    state = frozen(pageWaitsForQids(frozen(pageFetched(state)), pages[2], 3));
    state = frozen(pageWaitsForQids(frozen(pageFetched(state)), pages[1], 3));
    state = frozen(qidsLookedUp(state, 7));
    expect(state).toMatchObject({ pagesFetched: 4, waitingForQids: [2, 1] });
    expect(state.totals.knowledgeBaseLookups).toBe(7);

    state = frozen(applyPassStarted({ ...state, nextPage: 4 }));
    expect(state).toMatchObject({ pass: 'apply', nextPage: 0, waitingForQids: [1, 2] });
    expect(pagesToApply(state)).toEqual([pages[1], pages[2]]);
    for (let i = 0; i < 2; i++) state = frozen(pageApplied(state, mapped));
    expect(progressOf(enterPhase(state, 'committing'))).toMatchObject({ phase: 'committing', pagesTotal: 4, pagesFetched: 4, pagesApplied: 4, pagesDone: 4, assets: 40 });
  });

  it('looks up the waiting pages\' QIDs in rounds during the fetch pass and releases the pages a round completes', () => {
    let state = frozen(roundsStarted(enterPhase(enumeratedRun(), 'fetching pages')));
    expect(roundStarted(state)).toBeUndefined(); // nothing waits yet
    // Page 1 lacks 600 QIDs: enough for a whole batch of 500, which costs nothing over the fewest calls.
    state = frozen(pageWaitsForQids(frozen(pageFetched(state)), pages[1], 600));
    const started = roundStarted(state);
    expect(started?.round).toEqual({ waiting: [1], partial: false });
    state = frozen(started!.state);
    expect(roundStarted(state)).toBeUndefined(); // one round at a time
    // Page 3 arrives while the round is out; the round leaves page 1 100 QIDs short.
    state = frozen(pageWaitsForQids(frozen(pageFetched(state)), pages[3], 100));
    let finished = roundFinished(state, started!.round, { lookedUp: 500, known: [], unknownQids: 100 });
    expect(finished.released).toEqual([]);
    state = frozen(finished.state);
    expect(state).toMatchObject({ waitingForQids: [1, 3], totals: { knowledgeBaseLookups: 500 } });
    // Four pages leave no budget for a part-filled batch, and fewer than 500 QIDs can be missing: no round.
    expect(roundStarted(state)).toBeUndefined();
    // A round that completes a page releases it to be applied, and it waits no more.
    state = frozen({ ...state, knowledgeBaseRounds: { ...state.knowledgeBaseRounds!, partialCallsLeft: 1 } });
    const last = roundStarted(state);
    expect(last?.round).toEqual({ waiting: [1, 3], partial: true });
    finished = roundFinished(frozen(last!.state), last!.round, { lookedUp: 150, known: [3, 1], unknownQids: 0 });
    expect(finished.released).toEqual([pages[1], pages[3]]);
    expect(finished.state).toMatchObject({ waitingForQids: [], knowledgeBaseRounds: { partialCallsLeft: 0, partialCallsSpent: 1, roundInFlight: false } });
    expect(finished.state.totals.knowledgeBaseLookups).toBe(650);
  });

  it('keeps one list of waiting pages and no rounds in runs from before them', () => {
    const state = pageWaitsForQids(enumeratedRun(), pages[2], 4);
    expect(state).toMatchObject({ waitingForQids: [2], knowledgeBaseRounds: undefined });
    expect(roundStarted(state)).toBeUndefined();
  });

  it('applies every page in the apply pass in runs from before pages were applied as they arrive', () => {
    const state = applyPassStarted(pageFetched(enumeratedRun(false)));
    expect(pagesToApply(state)).toEqual(pages);
  });

  it('names a page that waits for QIDs but is not one of the run\'s pages', () => {
    const state = { ...enumeratedRun(), waitingForQids: [7] };
    expect(() => pagesToApply(state)).toThrow('page 7 waits for the KnowledgeBase but the run has 4 pages');
  });

  it('counts rate-limit waits and continue-as-new, and carries where its pass stands', () => {
    const waiting = rateLimitWaitChanged(enumeratedRun(), { until: '2026-12-01T01:00:00.000Z', endpoint: '/api/2.0/fo/asset/host/vm/detection/' });
    expect(progressOf(waiting).rateLimitWait).toEqual({ until: '2026-12-01T01:00:00.000Z', endpoint: '/api/2.0/fo/asset/host/vm/detection/' });
    expect(renderCurrentDetails(progressOf(waiting))).toMatch(/^\*\*Waiting for the Qualys rate limit until 2026-12-01T01:00:00.000Z\*\*/);
    const resumed = rateLimitWaitChanged(waiting, undefined);
    const carried = continued(rateLimitWaited(resumed, 30), 3, 3600);
    expect(carried).toMatchObject({ nextPage: 3, timings: { rateLimitTimerSeconds: 3630, continuedAsNew: 1 } });
    // The continue-as-new payload is the state itself: it survives JSON as it is.
    expect(JSON.parse(JSON.stringify(carried))).toEqual(carried);
    expect(renderCurrentDetails(progressOf(carried))).toContain('Continued as new 1×');
  });

  it('says what a run that ended without committing had done, in its progress and its current details', () => {
    let state = enterPhase(enumeratedRun(), 'fetching pages');
    state = pageApplied(pageFetched(pageFetched(state)), mapped);
    const ended = endedWithoutCommit(state, 'cancelled', 'cancelled');
    expect(progressOf(ended)).toMatchObject({ phase: 'cancelled' });
    expect(progressOf(ended).ended).toBe(
      'cancelled during "fetching pages" (2 of 4 pages fetched, 1 applied). Nothing was committed: the connection\'s data is as the last committed run left it.',
    );
    const details = renderCurrentDetails(progressOf(ended));
    expect(details).toMatch(/^\*\*Cancelled:\*\* cancelled during "fetching pages"/);
    expect(details).toContain('**Pages:** 2 of 4 fetched, 1 applied (2 at a time)');
    expect(details).not.toMatch(/upload/);
    // Pages at once: the fetch pass takes what the state says (two more than the calls allowed, since applies-beside-fetches).
    expect(progressOf(state)).toMatchObject({ pageConcurrency: 2, pagesAtOnce: 3 });
    // The apply pass: as many lanes as it chose; a state carried from before it chose any, one per call.
    const applying = enterPhase(applyPassStarted(state), 'applying pages');
    expect(progressOf(applying)).toMatchObject({ pageConcurrency: 2, pagesAtOnce: 2 });
    expect(progressOf(applyLanesChosen(applying, 3))).toMatchObject({ pageConcurrency: 2, pagesAtOnce: 3 });
  });

  it('says why a skipped run did nothing', () => {
    const state = skipped(startRun(run), 'already running: sync-prod-1');
    expect(progressOf(state)).toMatchObject({ phase: 'skipped', ended: 'already running: sync-prod-1' });
    expect(renderCurrentDetails(progressOf(state))).toBe('**Skipped:** already running: sync-prod-1');
  });
});

describe('runs continued before the run state', () => {
  it('resume from the continuation they carry: a run that applies pages as they arrive, in its apply pass', () => {
    const continuation = recordedContinuation('v4-continued-as-new-last');
    const state = fromContinuation(continuation);
    expect(state).toMatchObject({
      run: continuation.run,
      pages: continuation.pages,
      pass: 'apply',
      phase: 'applying pages',
      nextPage: 2,
      pagesFetched: 6,
      callsPerApi: 1,
      pagesInFlight: 2,
      appliesAsFetched: true,
      waitingForQids: [0, 1, 2, 3, 4, 5],
      totals: continuation.totals,
      timings: continuation.timings,
      plan: continuation.plan,
      watermark: continuation.watermark,
    });
    expect(pagesToApply(state)).toEqual(continuation.pages);
    expect(resumedState(continuation)).toEqual(state);
  });

  it('resume from the continuation they carry: a run from before pages followed the limit or were applied as they arrive', () => {
    const continuation = recordedContinuation('v1-continued-as-new-last');
    expect(continuation.fetchLanes).toBeUndefined();
    expect(continuation.waitingForQids).toBeUndefined();
    const state = resumedState(continuation);
    expect(state).toMatchObject({ pass: 'apply', callsPerApi: 1, pagesInFlight: 1, appliesAsFetched: false, waitingForQids: [], plan: undefined });
    expect(pagesToApply(state)).toEqual(continuation.pages);
  });

  it('a fetch pass carried over resumes the fetch pass', () => {
    const continuation: SyncContinuation = { ...recordedContinuation('v4-continued-as-new-last'), pass: 'fetch', nextPage: 4, waitingForQids: [1] };
    expect(resumedState(continuation)).toMatchObject({ pass: 'fetch', phase: 'fetching pages', nextPage: 4, waitingForQids: [1] });
  });

  it('a run state is taken as it is', () => {
    const state = continued(enumeratedRun(), 2, 0);
    expect(resumedState(JSON.parse(JSON.stringify(state)) as RunState)).toEqual(state);
  });
});
