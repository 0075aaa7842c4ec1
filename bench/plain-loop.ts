import { performance } from 'node:perf_hooks';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { RunTotals } from '../src/contracts/run';
import { createSyncActivities } from '../src/activities/sync-activities';
import { ConnectionProfiles } from '../src/config/connections';
import { openActivityDeps } from '../src/worker/activity-deps';
import { applyHeapSettings } from '../src/worker/heap-settings';
import { addPage, emptyTotals } from '../src/workflows/run-totals';
import { DEFAULT_MAX_SHRINK_SHARE, DEFAULT_REMOVED_ASSET_RETENTION_DAYS, callsPerApiFor, pagesInFlightFor } from '../src/workflows/sync-input';
import { inLanes } from '../src/lanes/in-lanes';
import { peakRssMiB } from './lanes';

/**
 * The baseline of the durability-overhead benchmark: the same activities (client, mapper, sink) in the
 * same passes and with the same concurrency as `qualysSync`, called in a plain loop with no Temporal.
 * Runs as its own process so its memory is measured like the worker's. Prints one JSON line.
 */
export interface PlainLoopResult {
  wallMs: number;
  /** ms after the start at which each page finished fetching / uploading. */
  fetchedAt: number[];
  uploadedAt: number[];
  totals: RunTotals;
  peakRssMiB?: number;
}

async function main(): Promise<void> {
  // The same heap settings as the worker, so the two compare.
  applyHeapSettings();
  const config = JSON.parse(process.argv[2] ?? '{}') as { apiUrl: string; username: string; password: string; databaseUrl: string; pageSize: number };
  const connection = 'bench';
  const deps = await openActivityDeps({
    databaseUrl: config.databaseUrl,
    profiles: ConnectionProfiles.of({ name: connection, apiUrl: config.apiUrl, username: config.username, password: config.password }),
  });
  // Activities run in an activity context; here a bare one, with no server behind it (and no heartbeats).
  const context = new MockActivityEnvironment();
  const activities = createSyncActivities(deps);
  const steps = Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [name, (...args: unknown[]) => context.run(fn as (...a: unknown[]) => Promise<unknown>, ...args)]),
  ) as typeof activities;
  const started = performance.now();
  const since = (): number => Math.round(performance.now() - started);
  const run = { connection, runKey: `plain-${Date.now()}`, workflowId: 'plain-loop', startedAt: new Date().toISOString() };
  let totals: RunTotals = emptyTotals();
  const fetchedAt: number[] = [];
  const uploadedAt: number[] = [];

  const validated = await steps.validateCredentials({ connection, run });
  const callsPerApi = callsPerApiFor(undefined, validated.concurrencyLimit);
  await steps.refreshKnowledgeBase({ run });
  const policy = { allowShrink: false, maxShrinkShare: DEFAULT_MAX_SHRINK_SHARE, removedAssetRetentionDays: DEFAULT_REMOVED_ASSET_RETENTION_DAYS };
  const { hostCount, pages } = await steps.enumerateAssets({ run, pageSize: config.pageSize, shrinkGuard: policy });
  totals.hosts = hostCount;
  await inLanes(pages, pagesInFlightFor(undefined, callsPerApi), async (page) => {
    await steps.fetchDetections({ run, page });
    fetchedAt.push(since());
  });
  totals.knowledgeBaseLookups += (await steps.lookupKnowledgeBase({ run })).lookedUp;
  await inLanes(pages, callsPerApi, async (page) => {
    const mapped = await steps.uploadPage({ run, page });
    totals = addPage(totals, mapped);
    uploadedAt.push(since());
  });
  await steps.commitRun({ run, totals, timings: { rateLimitTimerSeconds: 0, continuedAsNew: 0 }, policy });
  const result: PlainLoopResult = { wallMs: since(), fetchedAt, uploadedAt, totals, peakRssMiB: peakRssMiB() };
  await deps.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
