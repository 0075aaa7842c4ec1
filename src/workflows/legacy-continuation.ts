import type { PageRange, RunPlan, RunRef, RunTimings, RunTotals } from '../contracts/run';
import { RUN_STATE_VERSION, type RunState } from './run-state';

/**
 * What runs carried into their next execution before the run had one state: executions continued as
 * new then still start with it as their second argument, so it is read once, at their start.
 */
export interface SyncContinuation {
  run: RunRef;
  pages: PageRange[];
  pass: 'fetch' | 'upload';
  nextPage: number;
  pagesFetched: number;
  /** Calls at once per API. */
  pageConcurrency: number;
  /** Pages fetched at once (absent in runs from before it could differ from calls per API). */
  fetchLanes?: number;
  totals: RunTotals;
  timings: RunTimings;
  plan?: RunPlan;
  watermark?: string;
  /** Pages that waited for QIDs; absent in runs that apply every page after the fetch pass. */
  waitingForQids?: number[];
}

/** The state a continued execution resumes from, whichever form its run carried. */
export function resumedState(carried: RunState | SyncContinuation): RunState {
  // A run state carried before KnowledgeBase rounds has no `knowledgeBaseRounds`: such a run has none.
  return isRunState(carried) ? { ...carried, knowledgeBaseRounds: carried.knowledgeBaseRounds ?? undefined } : fromContinuation(carried);
}

function isRunState(carried: RunState | SyncContinuation): carried is RunState {
  return 'stateVersion' in carried && carried.stateVersion === RUN_STATE_VERSION;
}

export function fromContinuation(c: SyncContinuation): RunState {
  const pass = c.pass === 'upload' ? 'apply' : 'fetch';
  return {
    stateVersion: RUN_STATE_VERSION,
    run: c.run,
    phase: pass === 'fetch' ? 'fetching pages' : 'applying pages',
    plan: c.plan,
    watermark: c.watermark,
    pages: c.pages,
    callsPerApi: c.pageConcurrency,
    pagesInFlight: c.fetchLanes ?? c.pageConcurrency,
    pass,
    nextPage: c.nextPage,
    pagesFetched: c.pagesFetched,
    appliesAsFetched: c.waitingForQids !== undefined,
    waitingForQids: c.waitingForQids ?? [],
    knowledgeBaseRounds: undefined,
    totals: c.totals,
    timings: c.timings,
    rateLimitWait: undefined,
    ended: undefined,
  };
}
