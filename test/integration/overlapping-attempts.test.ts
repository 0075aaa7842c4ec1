import { Pool } from 'pg';
import { completedSync } from '../../src/workflows/sync-result';
import { freshDatabase } from '../harness/database';
import { expectedFrom, readOutput } from '../harness/sync-run';
import { freshTaskQueue } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { until } from '../harness/until';
import { startWorkerProcess, workerEnvFor, type WorkerProcess } from '../harness/worker-process';

// Two attempts of one page's upload overlap: attempt 1 is stopped inside its transaction (a stopped
// process, as a GC pause or a slow disk would hold it) past the heartbeat timeout, attempt 2 takes the
// page on the other worker and completes, then attempt 1 resumes. The page is staged once and the run
// commits what Qualys holds.

describe('overlapping attempts of a page\'s upload', () => {
  const testEnvironment = useTestEnvironment();

  it('a stale attempt resumed after a later one took the page over writes nothing: one copy staged, the run commits the truth', async () => {
    const env = testEnvironment.env();
    const connection = 'default';
    const sim = await testEnvironment.simulator({ hosts: 60, seed: 18 });
    const taskQueue = freshTaskQueue('overlap');
    const databaseUrl = await freshDatabase();
    const workerEnv = (): NodeJS.ProcessEnv => workerEnvFor({ taskQueue, namespace: env.namespace, simulator: sim, databaseUrl });
    const workers: WorkerProcess[] = [await startWorkerProcess(workerEnv()), await startWorkerProcess(workerEnv())];
    const pool = new Pool({ connectionString: databaseUrl });
    let stopped: WorkerProcess | undefined;
    try {
      // Page uploads wait inside their transaction until the test lets them write (the workers have migrated the store by now).
      const holder = await pool.connect();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE staged_findings IN SHARE MODE');
      const handle = await env.client.workflow.start('qualysSync', {
        taskQueue,
        workflowId: `overlap-${taskQueue}`,
        // One page at a time, so the upload waiting on the lock is the one whose worker is stopped.
        args: [{ connection, pageSize: 20, maxConcurrency: 1, heartbeatTimeoutSeconds: 3, retryWindowMinutes: 2 }],
      });
      const runKey = handle.firstExecutionRunId;

      const attempt1 = await until('an upload waiting inside its transaction', async () => {
        const { rows } = await pool.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM staged_findings%'`,
        );
        return rows[0]?.pid;
      });
      const identity = await until('the worker running that upload', async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        return pending.find((a) => a.activityType?.name === 'uploadPage' && a.lastWorkerIdentity)?.lastWorkerIdentity ?? undefined;
      });
      stopped = workers.find((w) => identity.startsWith(`${w.child.pid}@`));
      if (!stopped) throw new Error(`no worker process has identity ${identity}`);
      stopped.child.kill('SIGSTOP');
      // Attempt 1's statement goes through; its process, stopped, holds the transaction open.
      await holder.query('COMMIT');
      holder.release();

      // Attempt 2, on the other worker, takes the page over and completes while attempt 1 is still stopped.
      await until(
        'a page uploaded by the later attempt',
        async () => {
          const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM run_pages WHERE run_key = $1 AND uploaded_at IS NOT NULL', [runKey]);
          return Number(rows[0].n) >= 1 ? true : undefined;
        },
        90_000,
      );
      const duplicates = await pool.query(
        `SELECT 'finding' FROM staged_findings WHERE run_key = $1 GROUP BY key HAVING count(*) > 1
         UNION ALL SELECT 'asset' FROM staged_assets WHERE run_key = $1 GROUP BY key HAVING count(*) > 1
         UNION ALL SELECT 'feed line' FROM run_changes WHERE run_key = $1 GROUP BY entity, key HAVING count(*) > 1`,
        [runKey],
      );
      expect(duplicates.rows).toEqual([]);
      // The stale attempt's transaction was ended when the page was taken over: it can write nothing.
      const stale = await pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [attempt1]);
      expect(stale.rowCount).toBe(0);

      stopped.child.kill('SIGCONT');
      const result = completedSync(await handle.result());

      // The store holds what Qualys holds, each record once.
      const expected = expectedFrom(sim.truth(), connection);
      const output = await readOutput(databaseUrl, result);
      expect(output.findings.map((f) => f.key)).toEqual(expected.findingKeys);
      expect(output.assets.map((a) => a.qualysHostId).sort()).toEqual(sim.truth().hosts.map((h) => h.id).sort());
      // The page really was uploaded twice over: a later attempt of an upload started.
      const events = (await handle.fetchHistory()).events ?? [];
      const uploads = new Set(
        events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'uploadPage').map((e) => String(e.eventId)),
      );
      const retried = events.filter(
        (e) => uploads.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) && (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
      );
      expect(retried.length).toBeGreaterThanOrEqual(1);
    } finally {
      stopped?.child.kill('SIGCONT');
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
      await pool.end();
    }
  });
});
