import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { completedSync } from '../../src/workflows/sync-result';
import { heldAdvisoryLocks } from '../harness/api-slots';
import { freshDatabase } from '../harness/database';
import { readOutput, runSync, stateWithoutSeenTimes } from '../harness/sync-run';
import { freshTaskQueue } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { until } from '../harness/until';
import { startWorkerProcess, workerEnvFor, type WorkerProcess } from '../harness/worker-process';

describe('Qualys API limits across worker processes (the guard in the store)', () => {
  const testEnvironment = useTestEnvironment();
  const tempDirs: string[] = [];
  const workers: WorkerProcess[] = [];

  /** A worker process serving the task queue, with profiles "default" and "second": the same Qualys user. */
  async function startWorker(taskQueue: string, simulator: { url: string; username: string; password: string }, databaseUrl: string): Promise<WorkerProcess> {
    const env = workerEnvFor({ taskQueue, namespace: testEnvironment.env().namespace, simulator, databaseUrl });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-profiles-'));
    const file = path.join(dir, 'connections.json');
    writeFileSync(file, JSON.stringify({ connections: { second: { apiUrl: simulator.url, username: simulator.username, passwordEnv: 'QUALYS_PASSWORD' } } }));
    tempDirs.push(dir, env.QUALYS_CONNECTOR_DATA_DIR ?? '');
    const worker = await startWorkerProcess({ ...env, QUALYS_CONNECTIONS_FILE: file, QUALYS_WORKER_SHUTDOWN_GRACE: '100ms' });
    workers.push(worker);
    return worker;
  }

  afterEach(async () => {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.splice(0).map((w) => w.exited));
    for (const dir of tempDirs.splice(0)) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('limit 2, three workers, two connections of one Qualys user at once: never more than one call per API in flight', async () => {
    const env = testEnvironment.env();
    const estate = { hosts: 40, seed: 21, latencyMs: 150, concurrencyLimit: 2 };
    const cleanSim = await testEnvironment.simulator(estate);
    const sim = await testEnvironment.simulator(estate);
    const input = { pageSize: 10, heartbeatTimeoutSeconds: 5 };
    const clean = {
      default: await runSync(env, cleanSim, { connection: 'default', input }),
      second: await runSync(env, cleanSim, { connection: 'second', input }),
    };

    const taskQueue = freshTaskQueue('api-limits');
    const databaseUrl = await freshDatabase();
    for (let i = 0; i < 3; i++) await startWorker(taskQueue, sim, databaseUrl);
    sim.resetStats();
    // Each run alone keeps one page in flight (limit 2 − 1); two runs of one subscription would make two.
    const handles = await Promise.all(
      (['default', 'second'] as const).map((connection) =>
        env.client.workflow.start('qualysSync', { taskQueue, workflowId: `api-limits-${connection}-${taskQueue}`, args: [{ connection, ...input }] }),
      ),
    );
    const results = await Promise.all(handles.map(async (h) => completedSync(await h.result())));

    for (const result of results) {
      const connection = result.connection as keyof typeof clean;
      expect(stateWithoutSeenTimes(await readOutput(databaseUrl, result))).toEqual(stateWithoutSeenTimes(clean[connection]));
      expect(result.totals).toEqual(clean[connection].result.totals);
    }
    const stats = sim.stats();
    expect(stats.peakInFlightByEndpoint).toEqual({ hostList: 1, hostDetection: 1, knowledgeBase: 1, hostAssetSearch: 1, hostAssetCount: 1 });
    expect(stats.errorsServed['409/1960']).toBeUndefined();
    expect(await heldAdvisoryLocks(databaseUrl)).toEqual([]);
  });

  it('a worker killed while it holds a slot does not leak it: the lock goes with its connection and the run completes', async () => {
    const env = testEnvironment.env();
    const estate = { hosts: 30, seed: 23, latencyMs: 50, concurrencyLimit: 2 };
    const cleanSim = await testEnvironment.simulator(estate);
    const sim = await testEnvironment.simulator(estate);
    const input = { connection: 'default', pageSize: 10, heartbeatTimeoutSeconds: 3 };
    const clean = await runSync(env, cleanSim, { connection: 'default', input });

    const taskQueue = freshTaskQueue('api-slot-kill');
    const databaseUrl = await freshDatabase();
    const [first, second] = [await startWorker(taskQueue, sim, databaseUrl), await startWorker(taskQueue, sim, databaseUrl)];
    // Slow detection calls, so a worker holds the Host List Detection slot for a while.
    sim.setFaults({ endpoint: 'hostDetection', latencyMs: 1500 });
    const handle = await env.client.workflow.start('qualysSync', { taskQueue, workflowId: `api-slot-kill-${taskQueue}`, args: [input] });

    const pids = new Set([first.child.pid, second.child.pid]);
    const holder = await until('a worker to hold a slot', async () => (await heldAdvisoryLocks(databaseUrl)).find((l) => pids.has(l.processId))?.processId);
    const victim = holder === first.child.pid ? first : second;
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    // PostgreSQL drops the dead worker's session, and its slot with it.
    await until('the dead worker\'s slot to be released', async () =>
      (await heldAdvisoryLocks(databaseUrl)).some((l) => l.processId === holder) ? undefined : true,
    );

    const result = completedSync(await handle.result());
    expect(stateWithoutSeenTimes(await readOutput(databaseUrl, result))).toEqual(stateWithoutSeenTimes(clean));
    expect(result.totals).toEqual(clean.result.totals);
    expect(await heldAdvisoryLocks(databaseUrl)).toEqual([]);
  });
});
