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
import type { DetectionsFetched, PageRange } from '../contracts/run';
import type { KnowledgeBaseRound, KnowledgeBaseRoundResult } from '../contracts/knowledge-base-lookup';
import type { SyncActivities } from '../activities/sync-activities';
import type { FailureType } from '../contracts/failure-table';
import { acquireConnectionLock, releaseConnectionLock, type LockOwner } from './connection-lock';
import { QUALYS_CONNECTION } from '../../temporal/search-attributes';
import { resumedState, type SyncContinuation } from './legacy-continuation';
import { runPageLanes } from './page-lanes';
import { progressOf, progressQuery, renderCurrentDetails } from './progress';
import {
  applyLanesChosen,
  applyPassStarted,
  roundFinished,
  roundStarted,
  roundsStarted,
  endedWithoutCommit,
  enterPhase,
  enumerated,
  continued,
  pageApplied,
  pageFetched,
  pagesToApply,
  pageWaitsForQids,
  qidsLookedUp,
  rateLimitWaitChanged,
  rateLimitWaited,
  skipped,
  startRun,
  validated,
  type RunState,
} from './run-state';
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
  PAGES_BEYOND_CALLS,
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

/**
 * Runs started from this change fetch two pages more than the calls each API may have at once (before:
 * one more), so a lane applying a page — or a KnowledgeBase round's pages — does not hold back the next
 * page's calls; and they apply the pages that waited for the KnowledgeBase in as many lanes as they fetched pages
 * in, since no Qualys call is left to make (before: one lane per call, one at the Standard tier).
 */
const APPLIES_BESIDE_FETCHES = 'applies-beside-fetches';

// Cleanup after a cancelled or failed run: brief, and never allowed to hide why the run ended.
const { endRun } = proxyActivities<SyncActivities>({ startToCloseTimeout: '1 minute', scheduleToCloseTimeout: '2 minutes' });

/**
 * One connector run: validate credentials → enumerate assets → per page: fetch detections, then map and
 * apply it at once when the QID → CVE cache knows its QIDs → look up the QIDs new to the cache (in as
 * few KnowledgeBase calls as possible) → map and apply the pages that waited for them → commit the
 * run's change set, so the run's results become the connection's current state at once, or not at all. Pages
 * run side by side up to what the subscription allows; long rate-limit waits are durable timers; a
 * long run continues as new, carrying its RunState. A cancelled or failed run commits nothing, clears
 * what it staged and frees its connection.
 */
export async function qualysSync(rawInput: unknown, carried?: RunState | SyncContinuation): Promise<SyncResult> {
  const input = parseInput(rawInput);
  const r = openRun(rawInput, input, carried);
  // One run per connection: a second one ends at once, before spending a single Qualys call. The lock
  // outlives continue-as-new, so a continued run already holds it.
  const alreadyRunning = carried ? undefined : await acquireConnectionLock(input.connection, ownerOf(r));
  if (alreadyRunning !== undefined) return skip(r, alreadyRunning);
  try {
    if (!carried) {
      await validate(r);
      await enumerate(r);
    }
    if (r.state.pass === 'fetch') {
      await fetchPass(r);
      await lookUpNewQids(r);
      change(r, applyPassStarted(r.state));
    }
    await applyPass(r);
    return await commit(r);
  } catch (err) {
    return await endWithoutCommit(r, err);
  }
}

/** A run in progress: its input, its state (replaced through run-state.ts, never edited) and its rate-limit gate. */
interface Run {
  readonly rawInput: unknown;
  readonly input: SyncInput;
  state: RunState;
  readonly gate: RateLimitGate;
}

function openRun(rawInput: unknown, input: SyncInput, carried: RunState | SyncContinuation | undefined): Run {
  const info = workflowInfo();
  const state = carried
    ? resumedState(carried)
    : startRun({
        connection: input.connection,
        runKey: info.firstExecutionRunId,
        workflowId: info.workflowId,
        startedAt: new Date(info.runStartTime.getTime()).toISOString(),
      });
  const r: Run = { rawInput, input, state, gate: new RateLimitGate((wait) => change(r, rateLimitWaitChanged(r.state, wait))) };
  setHandler(progressQuery, () => progressOf(r.state));
  upsertSearchAttributes([{ key: QUALYS_CONNECTION, value: input.connection }]);
  return r;
}

/** Every change of the run's state goes through here, so the Web UI's current details always show it. */
function change(r: Run, next: RunState): void {
  r.state = next;
  setCurrentDetails(renderCurrentDetails(progressOf(next)));
}

function ownerOf(r: Run): LockOwner {
  return { workflowId: r.state.run.workflowId, runKey: r.state.run.runKey };
}

function skip(r: Run, alreadyRunning: string): SyncResult {
  const { connection } = r.input;
  const message = `already running: ${alreadyRunning} — connection ${connection} has a run in progress, so this one did nothing`;
  change(r, skipped(r.state, message));
  return { outcome: 'skipped', connection, alreadyRunning, message };
}

/** Runs a step through the rate-limit gate, with its kind's retries; a step that ran out of them says so. */
async function step<T>(r: Run, kind: StepKind, summary: string, call: (o: ActivityOptions) => Promise<T>): Promise<T> {
  const retryWindowMinutes = r.input.retryWindowMinutes ?? DEFAULT_RETRY_WINDOW_MINUTES;
  const settings = { retryWindowMinutes, heartbeatTimeoutSeconds: r.input.heartbeatTimeoutSeconds ?? DEFAULT_HEARTBEAT_TIMEOUT_SECONDS };
  try {
    return await r.gate.run(() => call({ ...stepOptions(kind, settings), summary }));
  } catch (err) {
    throw explainRetriesExhausted(err, summary, retryWindowMinutes);
  }
}

async function validate(r: Run): Promise<void> {
  const { input } = r;
  change(r, enterPhase(r.state, 'validating'));
  const access = await step(r, 'qualys', `check credentials and API access of ${input.connection}`, (o) =>
    validateCredentials.executeWithOptions(o, [{ connection: input.connection, run: r.state.run }]),
  );
  change(r, validated(r.state, { ...lanesFor(input.maxConcurrency, access.concurrencyLimit), watermark: access.qualysTime }));
}

/** Calls at once per API (and pages applied at once), and pages fetched at once. */
function lanesFor(maxConcurrency: number | undefined, concurrencyLimit: number | undefined): { callsPerApi: number; pagesInFlight: number } {
  if (patched(PAGES_FOLLOW_THE_LIMIT)) {
    const callsPerApi = callsPerApiFor(maxConcurrency, concurrencyLimit);
    return { callsPerApi, pagesInFlight: pagesInFlightFor(maxConcurrency, callsPerApi, patched(APPLIES_BESIDE_FETCHES) ? PAGES_BEYOND_CALLS : 1) };
  }
  const callsPerApi = legacyCallsPerApiFor(maxConcurrency, concurrencyLimit);
  return { callsPerApi, pagesInFlight: callsPerApi };
}

async function enumerate(r: Run): Promise<void> {
  const { input } = r;
  const { run, watermark } = r.state;
  change(r, enterPhase(r.state, 'enumerating'));
  await step(r, 'qualys', 'refresh the QID → CVE cache', (o) => refreshKnowledgeBase.executeWithOptions(o, [{ run }]));
  const planning = {
    mode: input.mode ?? 'auto',
    fullEveryHours: input.fullEveryHours ?? DEFAULT_FULL_EVERY_HOURS,
    overlapMinutes: input.overlapMinutes ?? DEFAULT_OVERLAP_MINUTES,
  };
  const estate = await step(r, 'qualys', `list host IDs of ${input.connection}`, (o) =>
    enumerateAssets.executeWithOptions(o, [
      { run, pageSize: input.pageSize ?? DEFAULT_PAGE_SIZE, shrinkGuard: shrinkPolicyOf(input), planning, qualysTime: watermark },
    ]),
  );
  change(r, enumerated(r.state, estate, patched(PAGES_APPLIED_AS_THEY_ARRIVE)));
  if (r.state.appliesAsFetched && patched(KNOWLEDGE_BASE_ROUNDS)) change(r, roundsStarted(r.state));
}

/** Every page fetched, in lanes; each applied in its lane when the cache knows its QIDs (see fetchThenApply). */
async function fetchPass(r: Run): Promise<void> {
  change(r, enterPhase(r.state, 'fetching pages'));
  await inPageLanes(r, r.state.pages, r.state.pagesInFlight, (page) => fetchThenApply(r, page));
}

/**
 * Per page: fetch → apply, unless its QIDs wait for the KnowledgeBase (or the run applies every page
 * later); a page that waits may start a round of lookups (see lookUpInRounds).
 */
async function fetchThenApply(r: Run, page: PageRange): Promise<void> {
  const fetched = await fetchPage(r, page);
  if (!r.state.appliesAsFetched) return;
  if (fetched.unknownQids === 0) return applyPage(r, page);
  change(r, pageWaitsForQids(r.state, page, fetched.unknownQids ?? 1));
  await lookUpInRounds(r);
}

/**
 * Starts KnowledgeBase rounds while there is one to start (one at a time; see knowledge-base-rounds.ts)
 * and applies the pages each completes, one after another, so the lane holds one page at a time. A lane
 * that finds a round in flight goes on fetching; the round's lane applies what the round completes.
 */
async function lookUpInRounds(r: Run): Promise<void> {
  for (let started = roundStarted(r.state); started !== undefined; started = roundStarted(r.state)) {
    change(r, started.state);
    const { round } = started;
    const looked = await lookUpRound(r, round);
    // Read the state only now: other lanes changed it while the round was out.
    const finished = roundFinished(r.state, round, looked);
    change(r, finished.state);
    for (const page of finished.released) await applyPage(r, page);
  }
}

async function fetchPage(r: Run, page: PageRange): Promise<DetectionsFetched> {
  const { run, pages } = r.state;
  const fetched = await step(r, 'qualys', `fetch ${hostsOf(page)} (page ${page.index + 1} of ${pages.length})`, (o) =>
    fetchDetections.executeWithOptions(o, [{ run, page, statuses: r.input.statuses }]),
  );
  change(r, pageFetched(r.state));
  return fetched;
}

/** Asks the KnowledgeBase about the QIDs a round's waiting pages lack. */
function lookUpRound(r: Run, round: KnowledgeBaseRound): Promise<KnowledgeBaseRoundResult> {
  return step(r, 'qualys', `look up the QIDs new to the QID → CVE cache of ${round.waiting.length} waiting pages`, (o) =>
    lookupKnowledgeBase.executeWithOptions(o, [{ run: r.state.run, ...round }]),
  );
}

/** After the fetch pass: the QIDs the waiting pages still lack (with rounds, one last round that takes them all). */
async function lookUpNewQids(r: Run): Promise<void> {
  change(r, enterPhase(r.state, 'knowledge base'));
  const { run, waitingForQids } = r.state;
  if (r.state.knowledgeBaseRounds) {
    if (waitingForQids.length === 0) return;
    const looked = await lookUpRound(r, { waiting: [...waitingForQids].sort((a, b) => a - b), partial: true });
    change(r, qidsLookedUp(r.state, looked.lookedUp));
    return;
  }
  const looked = await step(r, 'qualys', 'look up the QIDs new to the QID → CVE cache', (o) => lookupKnowledgeBase.executeWithOptions(o, [{ run }]));
  change(r, qidsLookedUp(r.state, looked.lookedUp));
}

/** The pages that waited for the KnowledgeBase (or, in runs from before pages were applied as they arrive, every page). */
async function applyPass(r: Run): Promise<void> {
  change(r, enterPhase(r.state, 'applying pages'));
  change(r, applyLanesChosen(r.state, patched(APPLIES_BESIDE_FETCHES) ? r.state.pagesInFlight : r.state.callsPerApi));
  await inPageLanes(r, pagesToApply(r.state), r.state.applyLanes ?? r.state.callsPerApi, (page) => applyPage(r, page));
}

async function applyPage(r: Run, page: PageRange): Promise<void> {
  const mapped = await step(r, 'store', `map and upload ${hostsOf(page)}`, (o) => uploadPage.executeWithOptions(o, [{ run: r.state.run, page }]));
  change(r, pageApplied(r.state, mapped));
}

/** Works through `pages` in lanes from where the pass stands; continues as new when Temporal suggests it. */
async function inPageLanes(r: Run, pages: readonly PageRange[], lanes: number, work: (page: PageRange) => Promise<void>): Promise<void> {
  const cursor = { next: r.state.nextPage };
  if (!(await runPageLanes(pages, lanes, cursor, work))) await continueLater(r, cursor.next);
}

async function continueLater(r: Run, nextPage: number): Promise<never> {
  return continueAsNew<typeof qualysSync>(r.rawInput, continued(r.state, nextPage, r.gate.waitedSeconds));
}

async function commit(r: Run): Promise<SyncResult> {
  const { input } = r;
  change(r, enterPhase(rateLimitWaited(r.state, r.gate.waitedSeconds), 'committing'));
  const { run, totals, timings, watermark, plan } = r.state;
  const committed = await step(r, 'store', `commit the run of ${input.connection}`, (o) =>
    commitRun.executeWithOptions(o, [
      { run, totals, timings, policy: shrinkPolicyOf(input), watermark, plan, maxRejectedShare: input.maxRejectedShare ?? DEFAULT_MAX_REJECTED_SHARE },
    ]),
  );
  await releaseConnectionLock(input.connection, ownerOf(r));
  change(r, enterPhase(r.state, 'done'));
  return {
    outcome: 'completed',
    connection: input.connection,
    runKey: committed.runKey,
    mode: plan?.mode ?? 'full',
    totals,
    changes: committed.changes,
    state: committed.state,
  };
}

/** A cancelled or failed run: says why, clears its staging, frees its connection, and ends as it must. */
async function endWithoutCommit(r: Run, err: unknown): Promise<never> {
  if (err instanceof ContinueAsNew) throw err;
  // A cancel asked for is the run's ending even when its step then failed otherwise.
  const cancelRequested = !isCancellation(err) && CancellationScope.current().consideredCancelled && patched(CANCEL_WINS_OVER_STEP_FAILURE);
  const outcome = isCancellation(err) || cancelRequested ? 'cancelled' : 'failed';
  const reason = outcome === 'cancelled' ? 'cancelled' : describeFailure(err);
  change(r, endedWithoutCommit(r.state, outcome, reason));
  // Cleanup must run even though the run itself is cancelled, and must never hide why it ended.
  await CancellationScope.nonCancellable(async () => {
    try {
      await endRun({ run: r.state.run, outcome, reason });
    } catch (cleanupError) {
      log.warn('Could not clear the run\'s staging; the next run of the connection clears it', { error: describeFailure(cleanupError) });
    }
    await releaseConnectionLock(r.input.connection, ownerOf(r));
  });
  throw cancelRequested ? new CancelledFailure(`cancelled; the step then ended with ${describeFailure(err)}`, [], err instanceof Error ? err : undefined) : err;
}

function hostsOf(page: PageRange): string {
  return `hosts ${page.idMin}–${page.idMax}`;
}

function shrinkPolicyOf(input: SyncInput): { allowShrink: boolean; maxShrinkShare: number; removedAssetRetentionDays: number } {
  return {
    allowShrink: input.allowShrink ?? false,
    maxShrinkShare: input.maxShrinkShare ?? DEFAULT_MAX_SHRINK_SHARE,
    removedAssetRetentionDays: input.removedAssetRetentionDays ?? DEFAULT_REMOVED_ASSET_RETENTION_DAYS,
  };
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
