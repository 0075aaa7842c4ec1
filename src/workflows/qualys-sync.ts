import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { DetectionsFetched, PageRange, RunPlan, RunRef, RunTimings, RunTotals } from '../contracts/run';
import type { SyncActivities } from '../activities/sync-activities';
import type { FailureType } from '../contracts/failure-table';
import { acquireConnectionLock, releaseConnectionLock, type LockOwner } from './connection-lock';
import { QUALYS_CONNECTION } from '../../temporal/search-attributes';
import { runPageLanes } from './page-lanes';
import { progressQuery, renderCurrentDetails, type RateLimitWaitProgress, type SyncPhase, type SyncProgress } from './progress';
import { addPage, emptyTotals } from './run-totals';
import {
  KnowledgeBaseRounds,
  lookUpInRounds,
  startingRounds,
  type KnowledgeBaseRound,
  type KnowledgeBaseRoundResult,
  type KnowledgeBaseRoundsCarried,
} from './knowledge-base-rounds';
import type { SyncResult } from './sync-result';
import { RateLimitGate } from './rate-limit-gate';
import { STEP_DEFAULTS, explainRetriesExhausted, stepOptions, type StepKind } from './step-policy';
import {
  DEFAULT_FULL_EVERY_HOURS,
  DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
  DEFAULT_OVERLAP_MINUTES,
  DEFAULT_MAX_REJECTED_SHARE,
  DEFAULT_MAX_SHRINK_SHARE,
  DEFAULT_PAGE_SIZE,
  DEFAULT_REMOVED_ASSET_RETENTION_DAYS,
  DEFAULT_RETRY_WINDOW_MINUTES,
  describeInputProblems,
  callsPerApiFor,
  legacyCallsPerApiFor,
  pagesInFlightFor,
  syncInputSchema,
  type SyncInput,
} from './sync-input';

const { validateCredentials, refreshKnowledgeBase, enumerateAssets, fetchDetections, lookupKnowledgeBase, uploadPage, commitRun } =
  proxyActivities<SyncActivities>(STEP_DEFAULTS);

/**
 * Runs started from this change on fetch as many pages at once as the subscription's limit allows, plus
 * one to overlap staging with the next calls (before: at most 4, and no more pages than calls).
 */
const PAGES_FOLLOW_THE_LIMIT = 'pages-follow-the-limit';

/**
 * Runs started from this change apply each page as soon as it is fetched when the QID → CVE cache knows
 * all its QIDs, so the work after the last Qualys call is the commit and the pages that waited for the
 * KnowledgeBase (before: every page was applied after the fetch pass and the lookup).
 */
const PAGES_APPLIED_AS_THEY_ARRIVE = 'pages-applied-as-they-arrive';

/**
 * Runs started from this change look up the waiting pages' QIDs in rounds during the fetch pass and apply
 * the pages each round completes at once (before: one lookup after the fetch pass).
 */
const KNOWLEDGE_BASE_ROUNDS = 'knowledge-base-rounds';

/**
 * Runs started from this change end CANCELLED when they were asked to cancel, whatever their step
 * failed with after that (a step whose worker could no longer heartbeat times out instead of
 * acknowledging the cancel); before, such a run ended FAILED.
 */
const CANCEL_WINS_OVER_STEP_FAILURE = 'cancel-wins-over-step-failure';

// Cleanup after a cancelled or failed run: brief, and never allowed to hide why the run ended.
const { endRun } = proxyActivities<SyncActivities>({ startToCloseTimeout: '1 minute', scheduleToCloseTimeout: '2 minutes' });

/** What a run carries into its next execution when it continues as new: cursors and counters only. */
export interface SyncContinuation {
  run: RunRef;
  pages: PageRange[];
  /** Which pass over the pages the next execution resumes, and at which page. */
  pass: PagePass;
  nextPage: number;
  pagesFetched: number;
  /** Calls at once per API: `callsPerApi` (the field keeps its first name, so continued runs still read it). */
  pageConcurrency: number;
  /** Pages fetched at once: `pagesInFlight` (absent in runs from before it could differ from calls per API). */
  fetchLanes?: number;
  totals: RunTotals;
  timings: RunTimings;
  plan?: RunPlan;
  /** Qualys' time at the run's first call: the watermark the commit writes. */
  watermark?: string;
  /**
   * Runs that apply pages as they arrive: the fetched pages that waited for QIDs the cache did not know,
   * applied after the KnowledgeBase lookup. Absent in runs that apply every page after the fetch pass.
   */
  waitingForQids?: number[];
  /** Runs that look up QIDs in rounds during the fetch pass: where the rounds stand (see knowledge-base-rounds.ts). */
  knowledgeBaseRounds?: KnowledgeBaseRoundsCarried;
}

/**
 * The fetch pass fetches every page (applying, in runs that do, each page whose QIDs are known); the
 * apply pass maps and applies the pages left once the QID → CVE cache is complete.
 */
type PagePass = 'fetch' | 'upload';

/**
 * One connector run: validate credentials → enumerate assets → per page: fetch detections, then map and
 * apply it at once when the QID → CVE cache knows its QIDs, else when a KnowledgeBase round during the
 * fetch pass completes it → look up the QIDs the waiting pages still lack (the rounds and this lookup
 * spend within 1 % of the fewest calls) → map and apply the pages that waited for them → commit the
 * run's change set, so the run's results become the connection's current state at once, or not at all. Pages
 * run side by side up to what the subscription allows; long rate-limit waits are durable timers; a
 * long run continues as new. A cancelled or failed run commits nothing, clears what it staged and
 * frees its connection.
 */
export async function qualysSync(rawInput: unknown, continuation?: SyncContinuation): Promise<SyncResult> {
  const input = parseInput(rawInput);
  const info = workflowInfo();
  const run: RunRef = continuation?.run ?? {
    connection: input.connection,
    runKey: info.firstExecutionRunId,
    workflowId: info.workflowId,
    startedAt: new Date(info.runStartTime.getTime()).toISOString(),
  };
  const owner: LockOwner = { workflowId: run.workflowId, runKey: run.runKey };
  const totals: RunTotals = continuation?.totals ?? emptyTotals();
  const timings: RunTimings = continuation?.timings ?? { rateLimitTimerSeconds: 0, continuedAsNew: 0 };

  let phase: SyncPhase = 'validating';
  let ended: string | undefined;
  let rateLimitWait: RateLimitWaitProgress | undefined;
  let pages = continuation?.pages ?? [];
  // Calls at once per API (and pages applied at once); pages fetched at once.
  let callsPerApi = continuation?.pageConcurrency ?? 1;
  let pagesInFlight = continuation?.fetchLanes ?? callsPerApi;
  let pagesFetched = continuation?.pagesFetched ?? 0;
  let plan: RunPlan | undefined = continuation?.plan;
  let watermark = continuation?.watermark;
  let waitingForQids = continuation?.waitingForQids;
  const roundsCarried = continuation?.knowledgeBaseRounds;
  let rounds = waitingForQids && roundsCarried ? new KnowledgeBaseRounds(waitingForQids, roundsCarried) : undefined;
  // Progress is derived from the run's state when asked, never kept as a second copy.
  const progress = (): SyncProgress => ({
    connection: input.connection,
    phase,
    mode: plan?.mode,
    since: plan?.since,
    pagesTotal: pages.length,
    pagesFetched,
    pagesDone: totals.pages,
    pageConcurrency: callsPerApi,
    pagesAtOnce: phase === 'fetching pages' ? pagesInFlight : callsPerApi,
    hosts: totals.hosts,
    assets: totals.assets,
    detections: totals.detections,
    findings: totals.findings,
    droppedNoCve: totals.droppedNoCve,
    droppedUnknownQid: totals.droppedUnknownQid,
    rejectedRecords: totals.rejectedRecords ?? 0,
    hostsKept: totals.hostsKept ?? 0,
    rateLimitWait,
    continuedAsNew: timings.continuedAsNew,
    ended,
  });
  const showProgress = (): void => setCurrentDetails(renderCurrentDetails(progress()));
  const enterPhase = (next: SyncPhase): void => {
    phase = next;
    showProgress();
  };
  setHandler(progressQuery, progress);
  upsertSearchAttributes([{ key: QUALYS_CONNECTION, value: input.connection }]);
  const planning = {
    mode: input.mode ?? 'auto',
    fullEveryHours: input.fullEveryHours ?? DEFAULT_FULL_EVERY_HOURS,
    overlapMinutes: input.overlapMinutes ?? DEFAULT_OVERLAP_MINUTES,
  };
  const policy = {
    allowShrink: input.allowShrink ?? false,
    maxShrinkShare: input.maxShrinkShare ?? DEFAULT_MAX_SHRINK_SHARE,
    removedAssetRetentionDays: input.removedAssetRetentionDays ?? DEFAULT_REMOVED_ASSET_RETENTION_DAYS,
  };

  // One run per connection: a second one ends at once, before spending a single Qualys call. The lock
  // outlives continue-as-new, so a continued run already holds it.
  const alreadyRunning = continuation ? undefined : await acquireConnectionLock(input.connection, owner);
  if (alreadyRunning !== undefined) {
    const message = `already running: ${alreadyRunning} — connection ${input.connection} has a run in progress, so this one did nothing`;
    phase = 'skipped';
    setCurrentDetails(`**Skipped:** ${message}`);
    return { outcome: 'skipped', connection: input.connection, alreadyRunning, message };
  }

  const gate = new RateLimitGate((wait) => {
    rateLimitWait = wait;
    showProgress();
  });
  const retryWindowMinutes = input.retryWindowMinutes ?? DEFAULT_RETRY_WINDOW_MINUTES;
  const settings = { retryWindowMinutes, heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds ?? DEFAULT_HEARTBEAT_TIMEOUT_SECONDS };
  const step = async <T>(kind: StepKind, summary: string, call: (o: ActivityOptions) => Promise<T>): Promise<T> => {
    try {
      return await gate.run(() => call({ ...stepOptions(kind, settings), summary }));
    } catch (err) {
      throw explainRetriesExhausted(err, summary, retryWindowMinutes);
    }
  };

  let pass: PagePass = continuation?.pass ?? 'fetch';
  const cursor = { next: continuation?.nextPage ?? 0 };
  const continueLater = async (): Promise<never> => {
    timings.rateLimitTimerSeconds += gate.waitedSeconds;
    timings.continuedAsNew += 1;
    return continueAsNew<typeof qualysSync>(rawInput, {
      run,
      pages,
      pass,
      nextPage: cursor.next,
      pagesFetched,
      pageConcurrency: callsPerApi,
      fetchLanes: pagesInFlight,
      totals,
      timings,
      plan,
      watermark,
      waitingForQids,
      knowledgeBaseRounds: rounds?.carried(),
    });
  };

  try {
    if (!continuation) {
      enterPhase('validating');
      const validated = await step('qualys', `check credentials and API access of ${input.connection}`, (o) =>
        validateCredentials.executeWithOptions(o, [{ connection: input.connection, run }]),
      );
      if (patched(PAGES_FOLLOW_THE_LIMIT)) {
        callsPerApi = callsPerApiFor(input.maxConcurrency, validated.concurrencyLimit);
        pagesInFlight = pagesInFlightFor(input.maxConcurrency, callsPerApi);
      } else {
        callsPerApi = legacyCallsPerApiFor(input.maxConcurrency, validated.concurrencyLimit);
        pagesInFlight = callsPerApi;
      }
      watermark = validated.qualysTime;

      enterPhase('enumerating');
      await step('qualys', 'refresh the QID → CVE cache', (o) => refreshKnowledgeBase.executeWithOptions(o, [{ run }]));
      const enumerated = await step('qualys', `list host IDs of ${input.connection}`, (o) =>
        enumerateAssets.executeWithOptions(o, [
          { run, pageSize: input.pageSize ?? DEFAULT_PAGE_SIZE, shrinkGuard: policy, planning, qualysTime: watermark },
        ]),
      );
      pages = enumerated.pages;
      plan = enumerated.plan;
      totals.hosts = enumerated.hostCount;
      totals.hostsAsked = enumerated.hostsAsked;
      if (patched(PAGES_APPLIED_AS_THEY_ARRIVE)) waitingForQids = [];
      if (waitingForQids && patched(KNOWLEDGE_BASE_ROUNDS)) rounds = new KnowledgeBaseRounds(waitingForQids, startingRounds(pages.length));
      showProgress();
    }

    const hostsOf = (page: PageRange): string => `hosts ${page.idMin}–${page.idMax}`;
    const fetchPage = async (page: PageRange): Promise<DetectionsFetched> => {
      const fetched = await step('qualys', `fetch ${hostsOf(page)} (page ${page.index + 1} of ${pages.length})`, (o) =>
        fetchDetections.executeWithOptions(o, [{ run, page, statuses: input.statuses }]),
      );
      pagesFetched += 1;
      showProgress();
      return fetched;
    };
    const applyPage = async (page: PageRange): Promise<void> => {
      const mapped = await step('store', `map and upload ${hostsOf(page)}`, (o) => uploadPage.executeWithOptions(o, [{ run, page }]));
      addPage(totals, mapped);
      showProgress();
    };
    // Per page: fetch → apply, unless its QIDs wait for the KnowledgeBase (or the run applies every page later).
    const fetchThenApply = async (page: PageRange): Promise<void> => {
      const fetched = await fetchPage(page);
      if (waitingForQids === undefined) return;
      if (rounds) return rounds.arrived(page.index, fetched.unknownQids ?? 1) ? applyPage(page) : lookUpInRounds(rounds, roundProgress, lookUpRound, applyWaiting);
      if (fetched.unknownQids === 0) await applyPage(page);
      else waitingForQids.push(page.index);
    };
    const roundProgress = (): { pagesFetched: number; pagesTotal: number } => ({ pagesFetched, pagesTotal: pages.length });
    const applyWaiting = (index: number): Promise<void> => applyPage(pages[index]);
    const lookUpRound = async (round: KnowledgeBaseRound): Promise<KnowledgeBaseRoundResult> => {
      const looked = await step('qualys', `look up the QIDs new to the QID → CVE cache of ${round.waiting.length} waiting pages`, (o) =>
        lookupKnowledgeBase.executeWithOptions(o, [{ run, ...round }]),
      );
      totals.knowledgeBaseLookups += looked.lookedUp;
      return looked;
    };
    const lookUpNewQids = async (): Promise<void> => {
      enterPhase('knowledge base');
      // With rounds, the final lookup is one more round that takes every QID the waiting pages lack.
      if (rounds) {
        if (rounds.waiting.length > 0) await lookUpRound({ waiting: [...rounds.waiting].sort((a, b) => a - b), partial: true });
        return;
      }
      const looked = await step('qualys', 'look up the QIDs new to the QID → CVE cache', (o) => lookupKnowledgeBase.executeWithOptions(o, [{ run }]));
      totals.knowledgeBaseLookups += looked.lookedUp;
    };

    if (pass === 'fetch') {
      enterPhase('fetching pages');
      if (!(await runPageLanes(pages, pagesInFlight, cursor, fetchThenApply))) await continueLater();
      await lookUpNewQids();
      waitingForQids?.sort((a, b) => a - b);
      pass = 'upload';
      cursor.next = 0;
    }
    enterPhase('uploading pages');
    const left = waitingForQids === undefined ? pages : waitingForQids.map((index) => pages[index]);
    if (!(await runPageLanes(left, callsPerApi, cursor, applyPage))) await continueLater();
    timings.rateLimitTimerSeconds += gate.waitedSeconds;

    enterPhase('committing');
    const committed = await step('store', `commit the run of ${input.connection}`, (o) =>
      commitRun.executeWithOptions(o, [
        { run, totals, timings, policy, watermark, plan, maxRejectedShare: input.maxRejectedShare ?? DEFAULT_MAX_REJECTED_SHARE },
      ]),
    );
    await releaseConnectionLock(input.connection, owner);
    enterPhase('done');
    return {
      outcome: 'completed',
      connection: input.connection,
      runKey: committed.runKey,
      mode: plan?.mode ?? 'full',
      totals,
      changes: committed.changes,
      state: committed.state,
    };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    // A cancel asked for is the run's ending even when its step then failed otherwise.
    const cancelRequested = !isCancellation(err) && CancellationScope.current().consideredCancelled && patched(CANCEL_WINS_OVER_STEP_FAILURE);
    const cancelled = isCancellation(err) || cancelRequested;
    const reason = cancelled ? 'cancelled' : describeFailure(err);
    const done = `${pagesFetched} of ${pages.length} pages fetched, ${totals.pages} uploaded`;
    ended = `${reason} during "${phase}" (${done}). Nothing was committed: the connection's data is as the last committed run left it.`;
    enterPhase(cancelled ? 'cancelled' : 'failed');
    // Cleanup must run even though the run itself is cancelled, and must never hide why it ended.
    await CancellationScope.nonCancellable(async () => {
      try {
        await endRun({ run, outcome: cancelled ? 'cancelled' : 'failed', reason });
      } catch (cleanupError) {
        log.warn('Could not clear the run\'s staging; the next run of the connection clears it', { error: describeFailure(cleanupError) });
      }
      await releaseConnectionLock(input.connection, owner);
    });
    throw cancelRequested ? new CancelledFailure(`cancelled; the step then ended with ${describeFailure(err)}`, [], err instanceof Error ? err : undefined) : err;
  }
}

/** The failure as a person reads it: its type and our own message (never the raw cause chain). */
function describeFailure(err: unknown): string {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure) return `${e.type ?? 'Error'}: ${e.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function parseInput(rawInput: unknown): SyncInput {
  const parsed = syncInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.create({
      type: 'InvalidSyncInput' satisfies FailureType,
      message: `Invalid qualysSync input: ${describeInputProblems(parsed.error)}. Example: {"connection":"default"}`,
      nonRetryable: true,
    });
  }
  return parsed.data;
}
