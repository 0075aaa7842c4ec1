import { rmSync } from 'node:fs';
import { heldAdvisoryLocks } from '../harness/api-slots';
import { freshDatabase } from '../harness/database';
import { expectedFrom, runSync } from '../harness/sync-run';
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
