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
import { NON_RETRYABLE_FAILURE_TYPES, STAGED_PAGE_MISSING_FAILURE } from '../activities/failure-types';
import { QUALYS_CONNECTION } from '../../temporal/search-attributes';
import { progressQuery, renderCurrentDetails, type RateLimitWaitProgress, type SyncPhase, type SyncProgress } from './progress';
import type { SyncResult } from './sync-result';
import { RateLimitGate, isFailureOfType } from './rate-limit-gate';
import {
  DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
  DEFAULT_PAGE_SIZE,
  describeInputProblems,
  pageConcurrency,
  syncInputSchema,
  type SyncInput,
} from './sync-input';

const RETRY: RetryPolicy = { initialInterval: '2s', maximumInterval: '2 minutes', nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES };

// A Host List Detection page can take minutes on a real subscription; heartbeats tell a live step
// from one whose worker died (the heartbeat timeout comes from the input).
const { validateCredentials, refreshKnowledgeBase, enumerateAssets, fetchDetections, mapPage, uploadPage, commitRun } =
  proxyActivities<SyncActivities>({ startToCloseTimeout: '30 minutes', retry: RETRY });

const { describeLockHolder } = proxyActivities<LockActivities>({ startToCloseTimeout: '1 minute' });

/** What a run carries into its next execution when it continues as new: cursors and counters only. */
export interface SyncContinuation {
  run: RunRef;
  pages: PageRange[];
  nextPage: number;
  pageConcurrency: number;
  totals: RunTotals;
  timings: RunTimings;
}


/**
 * One connector run: validate credentials → enumerate assets → (per page) fetch detections → map →
 * upload → commit, so the run's results become visible at once. Pages run side by side up to what the
 * subscription allows; long rate-limit waits are durable timers; a long run continues as new.
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
  const totals: RunTotals = continuation?.totals ?? {
    hosts: 0,
    assets: 0,
    detections: 0,
    findings: 0,
    droppedNoCve: 0,
    droppedUnknownQid: 0,
    pages: 0,
    knowledgeBaseLookups: 0,
  };
  const timings: RunTimings = continuation?.timings ?? { rateLimitTimerSeconds: 0, continuedAsNew: 0 };

  let phase: SyncPhase = 'validating';
  let rateLimitWait: RateLimitWaitProgress | undefined;
  let pages = continuation?.pages ?? [];
  let concurrency = continuation?.pageConcurrency ?? 1;
  // Progress is derived from the run's state when asked, never kept as a second copy.
  const progress = (): SyncProgress => ({
    connection: input.connection,
    phase,
    pagesTotal: pages.length,
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
      enumerateAssets.executeWithOptions(o, [{ run, pageSize: input.pageSize ?? DEFAULT_PAGE_SIZE }]),
    );
    pages = enumerated.pages;
    totals.hosts = enumerated.hostCount;
  }

  enterPhase('syncing pages');
  const syncPage = async (page: PageRange): Promise<void> => {
    const ref = { run, page };
    const hosts = `hosts ${page.idMin}–${page.idMax}`;
    // A later step on a worker that cannot see the staged page sends the page back to fetch (twice at most).
    for (let attempt = 1; ; attempt++) {
      try {
        await step(`fetch ${hosts} (page ${page.index + 1} of ${pages.length})`, (o) =>
          fetchDetections.executeWithOptions(o, [{ ...ref, statuses: input.statuses }]),
        );
        const mapped = await step(`map ${hosts}`, (o) => mapPage.executeWithOptions(o, [ref]));
        await step(`upload ${hosts}`, (o) => uploadPage.executeWithOptions(o, [ref]));
        totals.pages += 1;
        totals.assets += mapped.assets;
        totals.detections += mapped.detections;
        totals.findings += mapped.findings;
        totals.droppedNoCve += mapped.droppedNoCve;
        totals.droppedUnknownQid += mapped.droppedUnknownQid;
        totals.knowledgeBaseLookups += mapped.knowledgeBaseLookups;
        showProgress();
        return;
      } catch (err) {
        if (attempt >= 3 || !isFailureOfType(err, STAGED_PAGE_MISSING_FAILURE)) throw err;
      }
    }
  };

  // Lanes take pages in order; when Temporal suggests continuing as new they stop taking new ones,
  // finish what they hold, and the next execution starts at the first page not done.
  let nextPage = continuation?.nextPage ?? 0;
  let stopTaking = false;
  const lane = async (): Promise<void> => {
    while (!stopTaking && nextPage < pages.length) {
      await syncPage(pages[nextPage++]);
      if (workflowInfo().continueAsNewSuggested) stopTaking = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, pages.length) }, lane));
  timings.rateLimitTimerSeconds += gate.waitedSeconds;

  if (nextPage < pages.length) {
    timings.continuedAsNew += 1;
    await continueAsNew<typeof qualysSync>(rawInput, { run, pages, nextPage, pageConcurrency: concurrency, totals, timings });
  }

  enterPhase('committing');
  const committed = await step(`commit the run of ${input.connection}`, (o) =>
    commitRun.executeWithOptions(o, [{ run, totals, timings }]),
  );
  await lock.release();
  enterPhase('done');
  return { outcome: 'completed', connection: input.connection, totals, outputDir: committed.outputDir, reportFile: committed.reportFile };
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
