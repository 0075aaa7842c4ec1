import {
  ApplicationFailure,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PageRange, RunRef, RunTotals } from '../activities/contracts';
import type { SyncActivities } from '../activities/sync-activities';
import { NON_RETRYABLE_FAILURE_TYPES } from '../activities/failure-types';
import { QUALYS_CONNECTION } from '../../temporal/search-attributes';
import { progressQuery, type SyncPhase, type SyncProgress } from './progress';
import { DEFAULT_PAGE_SIZE, describeInputProblems, syncInputSchema } from './sync-input';

// Quick calls: one Qualys request each.
const { validateCredentials, enumerateAssets, commitRun } = proxyActivities<SyncActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES },
});

// Page work: a Host List Detection page can take minutes on a real subscription.
const pageSteps = proxyActivities<SyncActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '2s', maximumInterval: '2 minutes', nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES },
});

export interface SyncResult {
  connection: string;
  totals: RunTotals;
  outputDir: string;
  reportFile: string;
}

/**
 * One connector run: validate credentials → enumerate assets → fetch detections → map → upload,
 * page by page, then commit so the run's results become visible at once.
 */
export async function qualysSync(rawInput: unknown): Promise<SyncResult> {
  const parsed = syncInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.create({
      type: 'InvalidSyncInput',
      message: `Invalid qualysSync input: ${describeInputProblems(parsed.error)}. Example: {"connection":"default"}`,
      nonRetryable: true,
    });
  }
  const input = parsed.data;
  const info = workflowInfo();
  const run: RunRef = {
    connection: input.connection,
    runKey: info.firstExecutionRunId,
    workflowId: info.workflowId,
    startedAt: new Date(info.runStartTime.getTime()).toISOString(),
  };

  const progress: SyncProgress = {
    connection: input.connection,
    phase: 'validating',
    pagesTotal: 0,
    pagesDone: 0,
    hosts: 0,
    assets: 0,
    detections: 0,
    findings: 0,
    droppedNoCve: 0,
  };
  setHandler(progressQuery, () => progress);
  upsertSearchAttributes([{ key: QUALYS_CONNECTION, value: input.connection }]);
  const enterPhase = (phase: SyncPhase): void => {
    progress.phase = phase;
    setCurrentDetails(renderDetails(progress));
  };

  enterPhase('validating');
  await validateCredentials.executeWithOptions({ summary: `check credentials for ${input.connection}` }, [
    { connection: input.connection },
  ]);

  enterPhase('enumerating');
  const { hostCount, pages } = await enumerateAssets.executeWithOptions(
    { summary: `list host IDs of ${input.connection}` },
    [{ run, pageSize: input.pageSize ?? DEFAULT_PAGE_SIZE }],
  );
  progress.hosts = hostCount;
  progress.pagesTotal = pages.length;

  enterPhase('syncing pages');
  const syncPage = async (page: PageRange): Promise<void> => {
    const ref = { run, page };
    const hosts = `hosts ${page.idMin}–${page.idMax}`;
    const fetched = await pageSteps.fetchDetections.executeWithOptions({ summary: `fetch ${hosts}` }, [ref]);
    const mapped = await pageSteps.mapPage.executeWithOptions({ summary: `map ${hosts}` }, [ref]);
    await pageSteps.uploadPage.executeWithOptions({ summary: `upload ${hosts}` }, [ref]);
    progress.pagesDone += 1;
    progress.assets += mapped.assets;
    progress.detections += fetched.detections;
    progress.findings += mapped.findings;
    progress.droppedNoCve += mapped.droppedNoCve;
    setCurrentDetails(renderDetails(progress));
  };
  await runWithConcurrency(pages, input.maxConcurrency ?? 1, syncPage);

  enterPhase('committing');
  const totals: RunTotals = {
    hosts: progress.hosts,
    assets: progress.assets,
    detections: progress.detections,
    findings: progress.findings,
    droppedNoCve: progress.droppedNoCve,
    pages: progress.pagesDone,
  };
  const committed = await commitRun.executeWithOptions({ summary: `commit run of ${input.connection}` }, [
    { run, totals },
  ]);
  enterPhase('done');
  return { connection: input.connection, totals, outputDir: committed.outputDir, reportFile: committed.reportFile };
}

/** Runs `work` over `items` with at most `limit` in flight (deterministic: workflow promises). */
async function runWithConcurrency<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function renderDetails(p: SyncProgress): string {
  return [
    `**Phase:** ${p.phase}`,
    `**Pages:** ${p.pagesDone} of ${p.pagesTotal}`,
    `**Hosts:** ${p.hosts} · **Assets:** ${p.assets} · **Detections:** ${p.detections} · **Findings:** ${p.findings} · **Dropped (no CVE):** ${p.droppedNoCve}`,
  ].join('\n\n');
}
