import {
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { PageRange, RunRef, RunTimings, RunTotals } from '../activities/contracts';
import type { LockActivities } from '../activities/lock-activities';
import type { SyncActivities } from '../activities/sync-activities';
import { connectionLockId, reacquireConnectionLock, tryAcquireConnectionLock } from './connection-lock';
import { NON_RETRYABLE_FAILURE_TYPES } from '../activities/failure-types';
import { QUALYS_CONNECTION } from '../../temporal/search-attributes';
import { progressQuery, renderCurrentDetails, type RateLimitWaitProgress, type SyncPhase, type SyncProgress } from './progress';
import { addPage, emptyTotals } from './run-totals';
import type { SyncResult } from './sync-result';
import { RateLimitGate } from './rate-limit-gate';
import {
  DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
  DEFAULT_MAX_SHRINK_SHARE,
  DEFAULT_PAGE_SIZE,
  DEFAULT_REMOVED_ASSET_RETENTION_DAYS,
  describeInputProblems,
  pageConcurrency,
  syncInputSchema,
  type SyncInput,
} from './sync-input';

const RETRY: RetryPolicy = { initialInterval: '2s', maximumInterval: '2 minutes', nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES };

// A Host List Detection page can take minutes on a real subscription; heartbeats tell a live step
// from one whose worker died (the heartbeat timeout comes from the input).
const { validateCredentials, refreshKnowledgeBase, enumerateAssets, fetchDetections, lookupKnowledgeBase, uploadPage, commitRun } =
  proxyActivities<SyncActivities>({ startToCloseTimeout: '30 minutes', retry: RETRY });

const { describeLockHolder } = proxyActivities<LockActivities>({ startToCloseTimeout: '1 minute' });

/** What a run carries into its next execution when it continues as new: cursors and counters only. */
export interface SyncContinuation {
  run: RunRef;
  pages: PageRange[];
  /** Which pass over the pages the next execution resumes, and at which page. */
  pass: PagePass;
  nextPage: number;
  pagesFetched: number;
  pageConcurrency: number;
  totals: RunTotals;
  timings: RunTimings;
}

/** Pages are fetched from Qualys first, then mapped and uploaded once the QID → CVE cache is complete. */
type PagePass = 'fetch' | 'upload';


/**
 * One connector run: validate credentials → enumerate assets → fetch detections (per page) → look up
 * the QIDs new to the cache (in as few KnowledgeBase calls as possible) → map and upload (per page) →
 * commit, so the run's results become the connection's current state at once, or not at all. Pages
 * run side by side up to what the subscription allows; long rate-limit waits are durable timers; a
 * long run continues as new.
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
  const totals: RunTotals = continuation?.totals ?? emptyTotals();
  const timings: RunTimings = continuation?.timings ?? { rateLimitTimerSeconds: 0, continuedAsNew: 0 };

  let phase: SyncPhase = 'validating';
  let rateLimitWait: RateLimitWaitProgress | undefined;
  let pages = continuation?.pages ?? [];
  let concurrency = continuation?.pageConcurrency ?? 1;
  let pagesFetched = continuation?.pagesFetched ?? 0;
  // Progress is derived from the run's state when asked, never kept as a second copy.
  const progress = (): SyncProgress => ({
    connection: input.connection,
    phase,
    pagesTotal: pages.length,
    pagesFetched,
    pagesDone: totals.pages,
    pageConcurrency: concurrency,
    hosts: totals.hosts,
    assets: totals.assets,
    detections: totals.detections,
    findings: totals.findings,
    droppedNoCve: totals.droppedNoCve,
    droppedUnknownQid: totals.droppedUnknownQid,
    rateLimitWait,
    continuedAsNew: timings.continuedAsNew,
  });
  const showProgress = (): void => setCurrentDetails(renderCurrentDetails(progress()));
  const enterPhase = (next: SyncPhase): void => {
    phase = next;
    showProgress();
  };
  setHandler(progressQuery, progress);
  upsertSearchAttributes([{ key: QUALYS_CONNECTION, value: input.connection }]);
  const policy = {
    allowShrink: input.allowShrink ?? false,
    maxShrinkShare: input.maxShrinkShare ?? DEFAULT_MAX_SHRINK_SHARE,
    removedAssetRetentionDays: input.removedAssetRetentionDays ?? DEFAULT_REMOVED_ASSET_RETENTION_DAYS,
  };

  // One run per connection: a second one ends at once, before spending a single Qualys call.
  const lock = continuation ? await reacquireConnectionLock(input.connection) : await tryAcquireConnectionLock(input.connection);
  if (!lock) {
    const alreadyRunning = await describeLockHolder({ lockWorkflowId: connectionLockId(input.connection) });
    const message = `already running: ${alreadyRunning} — connection ${input.connection} has a run in progress, so this one did nothing`;
    phase = 'skipped';
    setCurrentDetails(`**Skipped:** ${message}`);
    return { outcome: 'skipped', connection: input.connection, alreadyRunning, message };
  }

  const gate = new RateLimitGate((wait) => {
    rateLimitWait = wait;
    showProgress();
  });
  const options: ActivityOptions = { heartbeatTimeout: `${input.heartbeatTimeoutSeconds ?? DEFAULT_HEARTBEAT_TIMEOUT_SECONDS}s` };
  const step = <T>(summary: string, call: (o: ActivityOptions) => Promise<T>): Promise<T> =>
    gate.run(() => call({ ...options, summary }));

  if (!continuation) {
    enterPhase('validating');
    const validated = await step(`check credentials and API access of ${input.connection}`, (o) =>
      validateCredentials.executeWithOptions(o, [{ connection: input.connection, run }]),
    );
    concurrency = pageConcurrency(input.maxConcurrency, validated.concurrencyLimit);

    enterPhase('enumerating');
    await step('refresh the QID → CVE cache', (o) => refreshKnowledgeBase.executeWithOptions(o, [{ run }]));
    const enumerated = await step(`list host IDs of ${input.connection}`, (o) =>
      enumerateAssets.executeWithOptions(o, [{ run, pageSize: input.pageSize ?? DEFAULT_PAGE_SIZE, shrinkGuard: policy }]),
    );
    pages = enumerated.pages;
    totals.hosts = enumerated.hostCount;
  }

  const hostsOf = (page: PageRange): string => `hosts ${page.idMin}–${page.idMax}`;
  const fetchPage = async (page: PageRange): Promise<void> => {
    await step(`fetch ${hostsOf(page)} (page ${page.index + 1} of ${pages.length})`, (o) =>
      fetchDetections.executeWithOptions(o, [{ run, page, statuses: input.statuses }]),
    );
    pagesFetched += 1;
    showProgress();
  };
  const uploadFetchedPage = async (page: PageRange): Promise<void> => {
    const mapped = await step(`map and upload ${hostsOf(page)}`, (o) => uploadPage.executeWithOptions(o, [{ run, page }]));
    addPage(totals, mapped);
    showProgress();
  };

  // Lanes take pages in order; when Temporal suggests continuing as new they stop taking new ones,
  // finish what they hold, and the next execution resumes at the first page not done.
  let pass: PagePass = continuation?.pass ?? 'fetch';
  let nextPage = continuation?.nextPage ?? 0;
  const runPass = async (work: (page: PageRange) => Promise<void>): Promise<boolean> => {
    let stopTaking = false;
    const lane = async (): Promise<void> => {
      while (!stopTaking && nextPage < pages.length) {
        await work(pages[nextPage++]);
        if (workflowInfo().continueAsNewSuggested) stopTaking = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pages.length) }, lane));
    return nextPage >= pages.length;
  };
  const continueLater = async (): Promise<never> => {
    timings.rateLimitTimerSeconds += gate.waitedSeconds;
    timings.continuedAsNew += 1;
    return continueAsNew<typeof qualysSync>(rawInput, {
      run,
      pages,
      pass,
      nextPage,
      pagesFetched,
      pageConcurrency: concurrency,
      totals,
      timings,
    });
  };

  if (pass === 'fetch') {
    enterPhase('fetching pages');
    if (!(await runPass(fetchPage))) await continueLater();
    enterPhase('knowledge base');
    const looked = await step('look up the QIDs new to the QID → CVE cache', (o) =>
      lookupKnowledgeBase.executeWithOptions(o, [{ run }]),
    );
    totals.knowledgeBaseLookups += looked.lookedUp;
    pass = 'upload';
    nextPage = 0;
  }
  enterPhase('uploading pages');
  if (!(await runPass(uploadFetchedPage))) await continueLater();
  timings.rateLimitTimerSeconds += gate.waitedSeconds;

  enterPhase('committing');
  const committed = await step(`commit the run of ${input.connection}`, (o) =>
    commitRun.executeWithOptions(o, [{ run, totals, timings, policy }]),
  );
  await lock.release();
  enterPhase('done');
  return { outcome: 'completed', connection: input.connection, runKey: committed.runKey, totals, changes: committed.changes, state: committed.state };
}

function parseInput(rawInput: unknown): SyncInput {
  const parsed = syncInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.create({
      type: 'InvalidSyncInput',
      message: `Invalid qualysSync input: ${describeInputProblems(parsed.error)}. Example: {"connection":"default"}`,
      nonRetryable: true,
    });
  }
  return parsed.data;
}

