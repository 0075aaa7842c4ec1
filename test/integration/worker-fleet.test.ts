import { freePort } from '../../temporal/dev-server';
import { completedSync } from '../../src/workflows/sync-result';
import { freshDatabase } from '../harness/database';
import { expectNoSecretAnywhere, readOutput, runSync, stateWithoutSeenTimes } from '../harness/sync-run';
import { freshTaskQueue } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { startWorkerProcess, waitForPages, workerEnvFor, type WorkerProcess } from '../harness/worker-process';

describe('several worker processes on one task queue', () => {
  const testEnvironment = useTestEnvironment();

  it('share the pages of one run; SIGTERM to one mid-run loses nothing; metrics and JSON logs are served', async () => {
    // Premium-like limits (5 at once) so four pages run side by side and both workers get work.
    const env = testEnvironment.env();
    const estate = { hosts: 160, seed: 37, latencyMs: 150, concurrencyLimit: 5 };
    const cleanSim = await testEnvironment.simulator(estate);
    const sim = await testEnvironment.simulator(estate);
    const input = { connection: 'default', pageSize: 10, heartbeatTimeoutSeconds: 5 };
    const clean = await runSync(env, cleanSim, { connection: 'default', input });

    const taskQueue = freshTaskQueue('fleet');
    const metricsPort = await freePort();
    const databaseUrl = await freshDatabase();
    // A data directory per worker (workerEnvFor): nothing shared but PostgreSQL and Temporal.
    const workerEnv = (): NodeJS.ProcessEnv => ({
      ...workerEnvFor({ taskQueue, namespace: env.namespace, simulator: sim, databaseUrl }),
      // Short on purpose: a step still running after it is cut off, and must be retried by the other worker.
      QUALYS_WORKER_SHUTDOWN_GRACE: '100ms',
    });
    const workers: WorkerProcess[] = [
      await startWorkerProcess({ ...workerEnv(), QUALYS_WORKER_METRICS_ADDRESS: `127.0.0.1:${metricsPort}` }),
      await startWorkerProcess(workerEnv()),
    ];
    const workflowId = `fleet-${taskQueue}`;
    const handle = await env.client.workflow.start('qualysSync', { taskQueue, workflowId, args: [input] });
    try {
      await waitForPages(handle, 'pagesFetched', 5);
      // Prometheus metrics from the Temporal runtime, while the worker is busy.
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^temporal_/m);
      expect(metrics).toContain('temporal_activity_execution_latency');

      workers[0].child.kill('SIGTERM');
      expect(await workers[0].exited).toBe(0);
      const result = completedSync(await handle.result());
      expect(stateWithoutSeenTimes(await readOutput(databaseUrl, result))).toEqual(stateWithoutSeenTimes(clean));
      // (Pages running side by side may both look up a QID new to the cache: the count of lookups varies.)
      expect({ ...result.totals, knowledgeBaseLookups: 0 }).toEqual({ ...clean.result.totals, knowledgeBaseLookups: 0 });
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
    }

    // Both workers did pages (history names the worker that ran each step).
    const history = await handle.fetchHistory();
    const identities = new Set(
      (history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.identity).filter((id): id is string => Boolean(id)),
    );
    for (const w of workers) expect([...identities].some((id) => id.startsWith(`${w.child.pid}@`))).toBe(true);

    // Structured logs: every line the worker wrote is a JSON object with a level and a message.
    const lines = workers[1].output().split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toEqual(expect.objectContaining({ level: expect.any(String), message: expect.any(String) }));
    expect(workers[0].output()).toContain('worker stopped');

    await expectNoSecretAnywhere(env, sim.password, workflowId, databaseUrl, workers.map((w) => w.output()).join('\n'));
  });
});
