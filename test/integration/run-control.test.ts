import { Pool } from 'pg';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ExposureStore } from '../../src/store/exposure-store';
import { connectionLockId } from '../../src/workflows/connection-lock';
import { progressQuery } from '../../src/workflows/progress';
import { completedSync } from '../../src/workflows/sync-result';
import { temporalCli } from '../harness/cli';
import { freshDatabase } from '../harness/database';
import { expectNoSecretAnywhere, expectedFrom, readOutput, startSyncRun, type StartedSyncRun } from '../harness/sync-run';
import { useTestEnvironment } from '../harness/test-environment';
import { until } from '../harness/until';

/** How a run that did not commit left the store: its runs row, what it still stages, the connection. */
async function storeAfter(databaseUrl: string, runKey: string, connection: string) {
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    const run = await pool.query<{ status: string; failure: string | null }>('SELECT status, failure FROM runs WHERE run_key = $1', [runKey]);
    let staged = 0;
    for (const table of ['staged_fetches', 'staged_assets', 'staged_findings', 'staged_additions', 'run_calls']) {
      const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE run_key = $1`, [runKey]);
      staged += Number(rows[0].n);
    }
    if (run.rows[0]?.status !== 'committed') {
      // What its pages added as they were applied (new findings, their feed lines) is taken back with it.
      const { rows } = await pool.query<{ n: string }>(
        'SELECT (SELECT count(*) FROM findings WHERE added_by_run = $1) + (SELECT count(*) FROM run_changes WHERE run_key = $1) AS n',
        [runKey],
      );
      staged += Number(rows[0].n);
    }
    const current = await pool.query('SELECT 1 FROM connections WHERE connection = $1', [connection]);
    return { status: run.rows[0]?.status, failure: run.rows[0]?.failure ?? undefined, staged, committed: (current.rowCount ?? 0) > 0 };
  } finally {
    await pool.end();
  }
}

async function stagedRows(databaseUrl: string, runKey: string): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM staged_fetches WHERE run_key = $1', [runKey]);
    return Number(rows[0].n);
  } finally {
    await pool.end();
  }
}

/** Whether the run has a step of this type running on a worker right now. */
async function stepRunning(handle: WorkflowHandle, activityType: string): Promise<true | undefined> {
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  return pending.some((a) => a.activityType?.name === activityType && a.lastStartedTime) || undefined;
}

async function failureOf(result: Promise<unknown>): Promise<unknown> {
  const err = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause;
}

/** The typed failure at the root of a workflow failure. */
function applicationFailure(err: unknown): ApplicationFailure {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof ApplicationFailure) return e;
  throw new Error(`no ApplicationFailure in ${String(err)}`);
}

describe('run control: cancellation, failures that clean up, and the connection lock', () => {
  const testEnvironment = useTestEnvironment();
  const runs: StartedSyncRun[] = [];
  afterEach(async () => {
    await Promise.all(runs.splice(0).map((r) => r.stop()));
  });

  /** The connection is free again: a new run of it on the same store completes with the whole estate. */
  async function expectConnectionFree(started: StartedSyncRun, connection: string, hosts: number, options: { simulator: Parameters<typeof startSyncRun>[1] }) {
    const next = await startSyncRun(testEnvironment.env(), options.simulator, { connection, databaseUrl: started.databaseUrl });
    runs.push(next);
    const result = completedSync(await next.handle.result());
    expect(result.totals.hosts).toBe(hosts);
    expect((await readOutput(started.databaseUrl, result)).findings.map((f) => f.key)).toEqual(expectedFrom(options.simulator.truth(), connection).findingKeys);
  }

  it('`temporal workflow cancel` stops a run at once: the Qualys call in flight is aborted, nothing is committed, staging is cleared, the connection is free', async () => {
    const env = testEnvironment.env();
    const simulator = await testEnvironment.simulator({ hosts: 60, seed: 5 });
    // Every detection call hangs for ten minutes: the run can only end now if that call is cancelled.
    simulator.setFaults({ endpoint: 'hostDetection', latencyMs: 600_000 });
    const connection = 'cancel-me';
    const started = await startSyncRun(env, simulator, { connection, input: { pageSize: 20, maxConcurrency: 1 } });
    runs.push(started);
    const runKey = started.runKey;
    await until('a detection call in flight with the page\'s other parts staged', async () =>
      (await stepRunning(started.handle, 'fetchDetections')) && (await stagedRows(started.databaseUrl, runKey)) >= 2 ? true : undefined,
    );

    const cancel = await temporalCli(['workflow', 'cancel', '--workflow-id', started.workflowId]);
    expect(cancel.code).toBe(0);
    expect(await failureOf(started.handle.result())).toBeInstanceOf(CancelledFailure);
    expect((await started.handle.describe()).status.name).toBe('CANCELLED');

    // The step in flight was cancelled (its cancellation acknowledged), not left to run out.
    const events = (await started.handle.fetchHistory()).events ?? [];
    expect(events.some((e) => e.activityTaskCanceledEventAttributes)).toBe(true);
    expect(events.some((e) => e.activityTaskCompletedEventAttributes && events.find((s) => s.eventId === e.activityTaskCompletedEventAttributes?.scheduledEventId)?.activityTaskScheduledEventAttributes?.activityType?.name === 'fetchDetections')).toBe(false);

    // What the run says of itself: the progress query, the Web UI's current details (CLI metadata), the store.
    const progress = await started.handle.query(progressQuery);
    expect(progress.phase).toBe('cancelled');
    expect(progress.ended).toMatch(/^cancelled during "fetching pages" \(0 of 3 pages fetched, 0 applied\)\. Nothing was committed/);
    const metadata = await temporalCli(['workflow', 'metadata', '--workflow-id', started.workflowId]);
    expect(metadata.code).toBe(0);
    expect(metadata.stdout).toContain('Cancelled:');
    expect(await storeAfter(started.databaseUrl, runKey, connection)).toEqual({ status: 'cancelled', failure: 'cancelled', staged: 0, committed: false });

    // The lock went with it.
    const lock = await env.client.workflow.getHandle(connectionLockId(connection)).describe();
    expect(lock.status.name).toBe('COMPLETED');
    simulator.setFaults([]);
    await expectConnectionFree(started, connection, 60, { simulator });
    await expectNoSecretAnywhere(env, simulator.password, started.workflowId, started.databaseUrl);
  });

  it('a response that never parses is fetched a few times, then the run fails non-retryably and cleans up like a cancelled one', async () => {
    const env = testEnvironment.env();
    const simulator = await testEnvironment.simulator({ hosts: 30, seed: 6 });
    simulator.setFaults({ endpoint: 'hostDetection', malformedXml: 1000 });
    const connection = 'never-parses';
    const started = await startSyncRun(env, simulator, { connection, input: { pageSize: 30 } });
    runs.push(started);
    const failure = applicationFailure(await failureOf(started.handle.result()));
    expect(failure.type).toBe('QualysMalformedResponse');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/the same failure on 4 attempts of this step: giving up/);
    expect(simulator.stats().calls.hostDetection).toBe(4);
    const after = await storeAfter(started.databaseUrl, started.runKey, connection);
    expect(after).toMatchObject({ status: 'failed', staged: 0, committed: false });
    expect(after.failure).toMatch(/^QualysMalformedResponse: /);
    expect((await started.handle.query(progressQuery)).phase).toBe('failed');
    simulator.setFaults([]);
    await expectConnectionFree(started, connection, 30, { simulator });
  });

  it('a Qualys outage longer than the retry window fails the run with QualysUnavailable, naming the step and the last error', async () => {
    const env = testEnvironment.env();
    const simulator = await testEnvironment.simulator({ hosts: 20, seed: 7 });
    simulator.setFaults({ endpoint: 'hostDetection', serverErrors: 1_000_000, serverErrorStatus: 500 });
    const connection = 'outage';
    const started = await startSyncRun(env, simulator, { connection, input: { pageSize: 20, retryWindowMinutes: 0.3 } });
    runs.push(started);
    const failure = applicationFailure(await failureOf(started.handle.result()));
    expect(failure.type).toBe('QualysUnavailable');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('retry window of 0.3 min in "fetch hosts');
    expect(failure.message).toMatch(/last error QualysServerError: /);
    expect(failure.message).toContain('Nothing was committed');
    expect(simulator.stats().calls.hostDetection).toBeGreaterThanOrEqual(2); // it did retry
    expect(await storeAfter(started.databaseUrl, started.runKey, connection)).toMatchObject({ status: 'failed', staged: 0, committed: false });
  });

  it('a store that stays down longer than the retry window fails the run with StoreUnavailable', async () => {
    const env = testEnvironment.env();
    const simulator = await testEnvironment.simulator({ hosts: 20, seed: 9 });
    const connection = 'store-down';
    const started = await startSyncRun(env, simulator, {
      connection,
      input: { pageSize: 20, retryWindowMinutes: 0.2 },
      adjustDeps: (deps) => {
        // The real store, whose page uploads fail as a store that is down would, for good.
        class DownStore extends ExposureStore {
          override async uploadPage(): Promise<void> {
            throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
          }
        }
        return { ...deps, store: new DownStore(deps.store.pool) };
      },
    });
    runs.push(started);
    const failure = applicationFailure(await failureOf(started.handle.result()));
    expect(failure.type).toBe('StoreUnavailable');
    expect(failure.message).toContain('the step kept failing for the run\'s whole retry window of 0.2 min in "map and upload hosts');
    expect(failure.message).toContain('ECONNREFUSED');
    expect(simulator.stats().calls.hostDetection).toBe(1); // the store's trouble cost no Qualys call
    expect(await storeAfter(started.databaseUrl, started.runKey, connection)).toMatchObject({ status: 'failed', staged: 0, committed: false });
  });

  it('a terminated run leaves its lock; the next run of the connection finds the lock\'s run gone, clears it and runs', async () => {
    const env = testEnvironment.env();
    const simulator = await testEnvironment.simulator({ hosts: 40, seed: 8 });
    simulator.setFaults({ endpoint: 'hostDetection', latencyMs: 600_000 });
    const connection = 'terminated';
    const first = await startSyncRun(env, simulator, { connection, input: { pageSize: 20 } });
    runs.push(first);
    await until('the first run fetching', () => stepRunning(first.handle, 'fetchDetections'));
    await first.handle.terminate('an operator ended it');
    expect((await env.client.workflow.getHandle(connectionLockId(connection)).describe()).status.name).toBe('RUNNING');

    simulator.setFaults([]);
    await expectConnectionFree(first, connection, 40, { simulator });
    expect((await storeAfter(first.databaseUrl, first.runKey, connection)).status).toBe('abandoned');
  });

  it('a cancel that arrives while the commit is blocked: the run ends consistently (all or nothing) and its lock is released', async () => {
    const env = testEnvironment.env();
    const simulator = await testEnvironment.simulator({ hosts: 30, seed: 11 });
    const connection = 'cancel-in-commit';
    const databaseUrl = await freshDatabase();
    const pool = new Pool({ connectionString: databaseUrl });
    // The commit waits for the connection's commit lock, which the test holds (as a slow commit would).
    const holder = await pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', [`qualys-commit:${connection}`]);
      const started = await startSyncRun(env, simulator, { connection, databaseUrl, input: { pageSize: 10 } });
      runs.push(started);
      await until('the commit blocked in the store', async () => {
        const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`);
        return rows.length > 0 && (await stepRunning(started.handle, 'commitRun')) ? true : undefined;
      });
      await started.handle.cancel();
      // The cancellation reaches the commit (its heartbeat), which then gets its lock and finishes.
      await new Promise((r) => setTimeout(r, 2_000));
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [`qualys-commit:${connection}`]);
      const ended = await started.handle.result().then(
        () => 'completed',
        (err: unknown) => (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure ? 'cancelled' : String(err)),
      );
      expect(['completed', 'cancelled']).toContain(ended);

      // However it ended, it holds the connection no more …
      const lock = await until('the lock to end', async () => {
        const described = await env.client.workflow.getHandle(connectionLockId(connection)).describe();
        return described.status.name === 'RUNNING' ? undefined : described.status.name;
      }, 30_000);
      expect(lock).toBe('COMPLETED');
      // … and the store says the same as the run: committed and current, or not at all, with no staging left.
      const after = await storeAfter(databaseUrl, started.runKey, connection);
      expect(after).toEqual(
        ended === 'completed'
          ? { status: 'committed', failure: undefined, staged: 0, committed: true }
          : { status: 'cancelled', failure: 'cancelled', staged: 0, committed: false },
      );
      await expectConnectionFree(started, connection, 30, { simulator });
    } finally {
      holder.release();
      await pool.end();
    }
  });
});
