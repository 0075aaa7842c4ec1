import { rmSync } from 'node:fs';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { heldAdvisoryLocks } from '../harness/api-slots';
import { freshDatabase } from '../harness/database';
import { completedSync } from '../../src/workflows/sync-result';
import { expectedFrom, readOutput, runSync, startSyncRun } from '../harness/sync-run';
import { freshTaskQueue } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { until } from '../harness/until';
import { startWorkerProcess, workerEnvFor, type WorkerProcess } from '../harness/worker-process';

/** What `npm run chaos` found, each kept as a case of its own (the seed and run that found it in the name). */
describe('chaos findings', () => {
  const testEnvironment = useTestEnvironment();
  const workers: WorkerProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const w of workers) {
      w.child.kill('SIGCONT');
      w.child.kill('SIGKILL');
    }
    await Promise.all(workers.splice(0).map((w) => w.exited));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('seed 7, run 1: a step whose earlier attempts failed otherwise is not given up at its first bodies cut short', async () => {
    // Found with a worker paused past its heartbeat timeout, then three Host List bodies cut short: the
    // step gave up at its fourth attempt ("the same failure on 4 attempts in a row") after three bad
    // answers. Two 503s then two cut bodies reproduce it without a paused worker.
    const sim = await testEnvironment.simulator({ hosts: 20, seed: 71 });
    sim.setFaults([
      { endpoint: 'hostList', serverErrors: 2 },
      { endpoint: 'hostList', truncatedBodies: 2 },
    ]);
    const run = await runSync(testEnvironment.env(), sim, { connection: 'cut-after-5xx', input: { pageSize: 10 } });
    expect(sim.stats().errorsServed).toMatchObject({ '503': 2, truncated: 2 });
    expect(run.findings.map((f) => f.key)).toEqual(expectedFrom(sim.truth(), 'cut-after-5xx').findingKeys);
  });

  // Found by seed 20261203, run 12 (stuck past the soak's 10-minute bound, the store right): six 409s,
  // then one connection reset, on the KnowledgeBase. A reset (or a 5xx) was retried after the step's
  // exponential backoff at its attempt number, which the 409s had pushed to the five-minute cap. A 5xx or
  // a network error now waits by the step's own count of them: the first one, 5 s.
  it('seed 20261203, run 12: a reset after a burst of 409s on the same step is retried after the first 5xx delay, not the capped backoff', async () => {
    const sim = await testEnvironment.simulator({ hosts: 20, seed: 1212 });
    sim.setFaults({ endpoint: 'hostList', concurrencyLimitErrors: 6, connectionResets: 2 });
    const run = await startSyncRun(testEnvironment.env(), sim, {
      connection: 'reset-after-409s',
      input: { pageSize: 10 },
      // 409s retried after 1 s × attempt, so the burst pushes the step to its 7th attempt quickly.
      adjustDeps: (deps) => ({ ...deps, limits: { ...deps.limits, concurrencyRetrySeconds: 1 } }),
    });
    try {
      // The step waiting to retry after a reset: its attempt and how long Temporal waits before the next.
      const retry = await until(
        'a step waiting to retry after a reset',
        async () => {
          const pending = (await run.handle.describe()).raw.pendingActivities ?? [];
          for (const step of pending) {
            const next = optionalTsToMs(step.nextAttemptScheduleTime);
            const failedAt = optionalTsToMs(step.lastAttemptCompleteTime);
            if (step.lastFailure?.applicationFailureInfo?.type === 'QualysNetworkError' && next !== undefined && failedAt !== undefined) {
              return { attempt: step.attempt ?? 0, waitSeconds: (next - failedAt) / 1000 };
            }
          }
          return undefined;
        },
        90_000,
      );
      // The 409s came first (attempts 1–6), so the reset is at least the 7th attempt's failure; the retry
      // comes after the first 5xx delay, well short of the five-minute cap the attempt number gave.
      expect(retry.attempt).toBeGreaterThanOrEqual(7);
      expect(retry.waitSeconds).toBeLessThanOrEqual(60);
      const { findings } = await readOutput(run.databaseUrl, completedSync(await run.handle.result()));
      expect(findings.map((f) => f.key)).toEqual(expectedFrom(sim.truth(), 'reset-after-409s').findingKeys);
      expect(sim.stats().errorsServed).toMatchObject({ '409/1960': 6 });
    } finally {
      await run.handle.terminate().catch(() => undefined);
      await run.stop();
    }
  }, 180_000);

  // Found by seed 7, run 5 (a cancel while the Temporal server and PostgreSQL restarted): a run cancelled
  // while a step's worker could not heartbeat ended FAILED ("Activity task timed out ← activity Heartbeat
  // timeout", retry state CANCEL_REQUESTED) instead of CANCELLED. The store was untouched either way; the
  // run's outcome and reason were wrong. Fixed behind the cancel-wins-over-step-failure patch.
  it('seed 7, run 5: a run cancelled while its step\'s worker is paused ends cancelled, not failed', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 30, seed: 75, latencyMs: 50 });
    sim.setFaults({ endpoint: 'hostDetection', latencyMs: 4_000 });
    const taskQueue = freshTaskQueue('cancel-paused');
    const databaseUrl = await freshDatabase();
    for (let i = 0; i < 2; i++) {
      const workerEnv = workerEnvFor({ taskQueue, namespace: env.namespace, simulator: sim, databaseUrl });
      dirs.push(workerEnv.QUALYS_CONNECTOR_DATA_DIR ?? '');
      workers.push(await startWorkerProcess({ ...workerEnv, QUALYS_WORKER_SHUTDOWN_GRACE: '100ms' }));
    }
    // The heartbeat timeout outlasts the sticky workflow queue's, so the cancel reaches the step first.
    const handle = await env.client.workflow.start('qualysSync', {
      taskQueue,
      workflowId: `cancel-paused-${taskQueue}`,
      args: [{ connection: 'default', pageSize: 10, heartbeatTimeoutSeconds: 20 }],
    });
    const pids = new Set(workers.map((w) => w.child.pid));
    const holder = await until('a worker to be at Qualys for a page', async () => (await heldAdvisoryLocks(databaseUrl)).find((l) => pids.has(l.processId))?.processId);
    const paused = workers.find((w) => w.child.pid === holder);
    paused?.child.kill('SIGSTOP');
    await handle.cancel();
    const status = await until(
      'the run to end',
      async () => {
        const { status: s } = await handle.describe();
        return s.name === 'RUNNING' ? undefined : s.name;
      },
      120_000,
    );
    paused?.child.kill('SIGCONT');
    expect(status).toBe('CANCELLED');
  }, 180_000);
});
