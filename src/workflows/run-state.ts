import type { EnumerationResult, PageMapped, PageRange, RunPlan, RunRef, RunTimings, RunTotals } from '../contracts/run';
import type { KnowledgeBaseRound, KnowledgeBaseRoundResult } from '../contracts/knowledge-base-lookup';
import { pageArrived, roundEnded, roundToStart, startingRounds, type KnowledgeBaseRoundsCarried } from './knowledge-base-rounds';
import { addPage, emptyTotals } from './run-totals';

// The run's state: everything a qualysSync run knows about itself, in one serialisable value. It is the
// continue-as-new payload as it is, the progress query and the Web UI's current details are derived from
// it, and it changes only through the pure functions below — the workflow replaces it, never edits it.
// It lives with the workflow, not in src/contracts: it is the workflow's contract with its own next
// execution, read by no activity, store or client (they get the contract types it is built from).

export type SyncPhase =
  | 'validating'
  | 'enumerating'
  | 'fetching pages'
  | 'knowledge base'
  | 'applying pages'
  | 'committing'
  | 'done'
  | 'skipped'
  | 'cancelled'
  | 'failed';

export interface RateLimitWaitProgress {
  /** When the run may call Qualys again (ISO 8601). */
  until: string;
  endpoint?: string;
}

/**
 * The fetch pass fetches every page (applying each page whose QIDs the cache knows, in runs that apply
 * pages as they arrive); the apply pass applies the pages left once the QID → CVE cache is complete.
 */
export type PagePass = 'fetch' | 'apply';

/** Tells a RunState from the continuation runs carried before there was one (see legacy-continuation.ts). */
export const RUN_STATE_VERSION = 1;

export interface RunState {
  stateVersion: typeof RUN_STATE_VERSION;
  run: RunRef;
  phase: SyncPhase;
  /** Known once the run has enumerated the estate. */
  plan: RunPlan | undefined;
  /** Qualys' time at the run's first call: the watermark the commit writes. */
  watermark: string | undefined;
  pages: PageRange[];
  /** Calls at once per API (and, in runs from before `applies-beside-fetches`, pages applied at once in the apply pass). */
  callsPerApi: number;
  /** Pages fetched at once (two more than the calls allowed; one more in runs from before `applies-beside-fetches`). */
  pagesInFlight: number;
  /** Pages the apply pass applies at once, once it has started (absent: `callsPerApi`). */
  applyLanes?: number;
  /** The pass the run is in, and the next page of it to start (where a continued execution resumes). */
  pass: PagePass;
  nextPage: number;
  pagesFetched: number;
  /**
   * Whether the fetch pass applies each page whose QIDs the cache knows (runs from `pages-applied-as-they-arrive`
   * on); otherwise the apply pass applies every page.
   */
  appliesAsFetched: boolean;
  /** Indexes of the fetched pages that wait for QIDs the cache did not know: the apply pass applies them. */
  waitingForQids: number[];
  /**
   * Runs that look up the waiting pages' QIDs in rounds during the fetch pass (from `knowledge-base-rounds`
   * on): where the rounds stand. Absent otherwise, and in states carried before there were rounds.
   */
  knowledgeBaseRounds: KnowledgeBaseRoundsCarried | undefined;
  totals: RunTotals;
  timings: RunTimings;
  /** Present while the run waits out a Qualys rate limit on a durable timer. */
  rateLimitWait: RateLimitWaitProgress | undefined;
  /** Why the run ended without committing (phase skipped, cancelled or failed). */
  ended: string | undefined;
}

/** A run before its first step. */
export function startRun(run: RunRef): RunState {
  return {
    stateVersion: RUN_STATE_VERSION,
    run,
    phase: 'validating',
    plan: undefined,
    watermark: undefined,
    pages: [],
    callsPerApi: 1,
    pagesInFlight: 1,
    pass: 'fetch',
    nextPage: 0,
    pagesFetched: 0,
    appliesAsFetched: false,
    waitingForQids: [],
    knowledgeBaseRounds: undefined,
    totals: emptyTotals(),
    timings: { rateLimitTimerSeconds: 0, continuedAsNew: 0 },
    rateLimitWait: undefined,
    ended: undefined,
  };
}

export function enterPhase(state: RunState, phase: SyncPhase): RunState {
  return { ...state, phase };
}

/** The credentials work: how many calls and pages the run allows itself, and its watermark. */
export function validated(state: RunState, access: { callsPerApi: number; pagesInFlight: number; watermark: string | undefined }): RunState {
  return { ...state, callsPerApi: access.callsPerApi, pagesInFlight: access.pagesInFlight, watermark: access.watermark };
}

/** The estate is listed: the run's pages and plan, and whether it applies pages as they arrive. */
export function enumerated(state: RunState, enumeration: EnumerationResult, appliesAsFetched: boolean): RunState {
  return {
    ...state,
    pages: enumeration.pages,
    plan: enumeration.plan,
    totals: { ...state.totals, hosts: enumeration.hostCount, hostsAsked: enumeration.hostsAsked },
    appliesAsFetched,
  };
}

export function pageFetched(state: RunState): RunState {
  return { ...state, pagesFetched: state.pagesFetched + 1 };
}

/** The run looks up the waiting pages' QIDs in rounds during its fetch pass. */
export function roundsStarted(state: RunState): RunState {
  return { ...state, knowledgeBaseRounds: startingRounds(state.pages.length) };
}

/** A fetched page waits: the cache did not know `unknownQids` of its QIDs (a round, or the apply pass, applies it). */
export function pageWaitsForQids(state: RunState, page: PageRange, unknownQids: number): RunState {
  if (!state.knowledgeBaseRounds) return { ...state, waitingForQids: [...state.waitingForQids, page.index] };
  return withWait(state, pageArrived(waitOf(state, state.knowledgeBaseRounds), page.index, unknownQids));
}

/** The KnowledgeBase round to start now, if any, and the state with it in flight. */
export function roundStarted(state: RunState): { round: KnowledgeBaseRound; state: RunState } | undefined {
  if (!state.knowledgeBaseRounds) return undefined;
  const started = roundToStart(waitOf(state, state.knowledgeBaseRounds), { pagesFetched: state.pagesFetched, pagesTotal: state.pages.length });
  return started && { round: started.round, state: withWait(state, started.next) };
}

/** A round's lookup came back: its QIDs counted, and the waiting pages it completed released to be applied. */
export function roundFinished(state: RunState, round: KnowledgeBaseRound, result: KnowledgeBaseRoundResult): { released: PageRange[]; state: RunState } {
  const counted = qidsLookedUp(state, result.lookedUp);
  if (!counted.knowledgeBaseRounds) return { released: [], state: counted };
  const ended = roundEnded(waitOf(counted, counted.knowledgeBaseRounds), round, result);
  return { released: ended.released.map((index) => pageAt(state, index)), state: withWait(counted, ended.next) };
}

function waitOf(state: RunState, rounds: KnowledgeBaseRoundsCarried): { waiting: readonly number[]; rounds: KnowledgeBaseRoundsCarried } {
  return { waiting: state.waitingForQids, rounds };
}

function withWait(state: RunState, wait: { waiting: readonly number[]; rounds: KnowledgeBaseRoundsCarried }): RunState {
  return { ...state, waitingForQids: [...wait.waiting], knowledgeBaseRounds: wait.rounds };
}

/** A page mapped and applied (compared with the current state and its changes staged). */
export function pageApplied(state: RunState, mapped: PageMapped): RunState {
  return { ...state, totals: addPage(state.totals, mapped) };
}

export function qidsLookedUp(state: RunState, lookedUp: number): RunState {
  return { ...state, totals: { ...state.totals, knowledgeBaseLookups: state.totals.knowledgeBaseLookups + lookedUp } };
}

/** Every page is fetched and the cache complete: the apply pass starts at its first page, in page order. */
export function applyPassStarted(state: RunState): RunState {
  return { ...state, pass: 'apply', nextPage: 0, waitingForQids: [...state.waitingForQids].sort((a, b) => a - b) };
}

/** The apply pass works in `lanes` lanes (what the progress query says of it). */
export function applyLanesChosen(state: RunState, lanes: number): RunState {
  return { ...state, applyLanes: lanes };
}

/** The pages the apply pass applies: those that waited for the KnowledgeBase, or every page. */
export function pagesToApply(state: RunState): PageRange[] {
  if (!state.appliesAsFetched) return state.pages;
  return state.waitingForQids.map((index) => pageAt(state, index));
}

function pageAt(state: RunState, index: number): PageRange {
  const page = state.pages[index];
  if (!page) throw new RangeError(`page ${index} waits for the KnowledgeBase but the run has ${state.pages.length} pages`);
  return page;
}

export function rateLimitWaitChanged(state: RunState, wait: RateLimitWaitProgress | undefined): RunState {
  return { ...state, rateLimitWait: wait };
}

/** Seconds slept on rate-limit timers since the run last counted them. */
export function rateLimitWaited(state: RunState, seconds: number): RunState {
  return { ...state, timings: { ...state.timings, rateLimitTimerSeconds: state.timings.rateLimitTimerSeconds + seconds } };
}

/** What the run carries into its next execution: it resumes its pass at `nextPage`. */
export function continued(state: RunState, nextPage: number, rateLimitSeconds: number): RunState {
  const counted = rateLimitWaited(state, rateLimitSeconds);
  return { ...counted, nextPage, timings: { ...counted.timings, continuedAsNew: counted.timings.continuedAsNew + 1 } };
}

/** Another run of the connection is in progress: this one does nothing. */
export function skipped(state: RunState, message: string): RunState {
  return { ...state, phase: 'skipped', ended: message };
}

/** The run ends without committing; `reason` says why (a failure, or "cancelled"). */
export function endedWithoutCommit(state: RunState, outcome: 'cancelled' | 'failed', reason: string): RunState {
  const done = `${state.pagesFetched} of ${state.pages.length} pages fetched, ${state.totals.pages} applied`;
  return {
    ...state,
    phase: outcome,
    ended: `${reason} during "${state.phase}" (${done}). Nothing was committed: the connection's data is as the last committed run left it.`,
  };
}
