import { Client, Pool } from 'pg';
import { completedSync } from '../../src/workflows/sync-result';
import { exportedState, expectNoSecretAnywhere, readOutput, runSync } from '../harness/sync-run';
import { freshTaskQueue } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { until } from '../harness/until';
import { startWorkerProcess, workerEnvFor } from '../harness/worker-process';

describe('a worker SIGKILLed in the middle of the commit transaction', () => {
  const testEnvironment = useTestEnvironment();

  it('leaves the previous state whole; the retried commit on another worker completes with all bookkeeping done', async () => {
    const env = testEnvironment.env();
    const connection = 'default';
    const sim = await testEnvironment.simulator({ hosts: 90, seed: 31 });
    const first = await runSync(env, sim, { connection, input: { pageSize: 30 } });
    const previous = await exportedState(first.databaseUrl, connection);
    sim.advance({ addedShare: 0.05, removedShare: 0.05, changedShare: 0.2 });

    // Hold the connection's row, so the commit blocks on its last write: every lifecycle change of the
    // run is then made inside its transaction, and not yet committed.
    const blocker = new Client({ connectionString: first.databaseUrl });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT * FROM connections WHERE connection = $1 FOR UPDATE', [connection]);

    const taskQueue = freshTaskQueue('commit-crash');
    const workerEnv = (): NodeJS.ProcessEnv => workerEnvFor({ taskQueue, namespace: env.namespace, simulator: sim, databaseUrl: first.databaseUrl });
    const doomed = await startWorkerProcess(workerEnv());
    const handle = await env.client.workflow.start('qualysSync', {
      taskQueue,
      workflowId: `commit-crash-${taskQueue}`,
      args: [{ connection, pageSize: 30, heartbeatTimeoutSeconds: 2 }],
    });
    const pool = new Pool({ connectionString: first.databaseUrl });
    try {
      const committer = await until('the commit to block on its last write', async () => {
        const { rows } = await pool.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO connections%'`,
        );
        return rows[0]?.pid;
      });
      doomed.child.kill('SIGKILL');
      expect(await doomed.exited).toBe('SIGKILL');
      await blocker.query('ROLLBACK');
      // The killed worker's transaction ends with its connection: rolled back, not committed.
      await until('the killed worker\'s transaction to end', async () => {
        const { rows } = await pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [committer]);
        return rows.length === 0 ? true : undefined;
      });
      const between = await exportedState(first.databaseUrl, connection);
      expect(between.assets).toEqual(previous.assets);
      expect(between.findings).toEqual(previous.findings);
      const { rows: state } = await pool.query<{ run_key: string }>('SELECT run_key FROM connections WHERE connection = $1', [connection]);
      expect(state.map((r) => r.run_key)).toEqual([first.result.runKey]);

      // Another worker takes the commit over once the heartbeat timeout passes.
      const rescuer = await startWorkerProcess(workerEnv());
      let output = '';
      try {
        const result = completedSync(await handle.result());
        const second = await readOutput(first.databaseUrl, result);
        const truth = sim.truth();
        const active = second.assets.filter((a) => a.status === 'active').map((a) => a.qualysHostId);
        expect(active.sort()).toEqual(truth.hosts.map((h) => h.id).sort());
        expect(second.report.changes.assetsRemoved).toBeGreaterThan(0);
        const { rows: bookkeeping } = await pool.query<{ run_key: string; status: string; staged: string; calls: string }>(
          `SELECT r.run_key, r.status,
                  (SELECT count(*) FROM staged_fetches s WHERE s.run_key = r.run_key) + (SELECT count(*) FROM staged_findings s WHERE s.run_key = r.run_key) AS staged,
                  (SELECT count(*) FROM run_calls c WHERE c.run_key = r.run_key) AS calls
           FROM runs r ORDER BY started_at`,
        );
        expect(bookkeeping).toEqual([
          { run_key: first.result.runKey, status: 'committed', staged: '0', calls: '0' },
          { run_key: result.runKey, status: 'committed', staged: '0', calls: '0' },
        ]);
        const { rows: now } = await pool.query<{ run_key: string; watermark: Date }>('SELECT run_key, watermark FROM connections');
        expect(now.map((r) => [r.run_key, r.watermark.toISOString()])).toEqual([[result.runKey, second.report.watermark]]);
        output = doomed.output() + rescuer.output();
      } finally {
        rescuer.child.kill('SIGTERM');
        await rescuer.exited;
      }
      await expectNoSecretAnywhere(env, sim.password, handle.workflowId, first.databaseUrl, output);
    } finally {
      await blocker.end().catch(() => undefined);
      await pool.end();
    }
  });
});
