import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { startDevServer, type RunningDevServer } from '../../temporal/dev-server';
import type { WorkflowHandle } from '@temporalio/client';
import { connectionLockId } from '../../src/workflows/connection-lock';
import { progressQuery, type SyncProgress } from '../../src/workflows/progress';
import type { SyncResult } from '../../src/workflows/sync-result';
import { expectNoSecretAnywhere, expectedFrom, runSync } from '../harness/sync-run';
import { untilLockHeldBy } from '../harness/until';
import { connectToTestServer } from '../harness/temporal';

describe('a long run continues as new', () => {
  let server: RunningDevServer;
  let connection: Connection;
  let nativeConnection: NativeConnection;
  let simulator: RunningSimulator;
  let shared: Awaited<ReturnType<typeof connectToTestServer>>;

  beforeAll(async () => {
    shared = await connectToTestServer(); // installs the test Runtime
    // A server of its own, whose continue-as-new threshold is low enough for a small estate.
    server = await startDevServer({
      cliPath: process.env.TEST_TEMPORAL_CLI,
      uiPort: false,
      logLevel: 'error',
      stdio: 'ignore',
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 20 },
    });
    connection = await Connection.connect({ address: server.address });
    nativeConnection = await NativeConnection.connect({ address: server.address });
    simulator = await startSimulator({ hosts: 90, seed: 13 });
  });
  afterAll(async () => {
    await simulator?.close();
    await nativeConnection?.close();
    await connection?.close();
    await server?.stop();
    await shared?.close();
  });

  it('carries only cursors and counters, keeps its connection through every continue-as-new, and its output is still exact', async () => {
    const env = { client: new Client({ connection, namespace: server.namespace }), nativeConnection, namespace: server.namespace };
    const rivals: Array<{ result: SyncResult; startedAt: Date }> = [];
    const progressSeen: SyncProgress[] = [];
    // While the run goes (and continues as new), rivals keep trying to take its connection, and its
    // progress is read: the continue-as-new hand-over is exactly where a lock with a gap would let one in.
    const contest = async (handle: WorkflowHandle): Promise<void> => {
      const { taskQueue } = await handle.describe();
      await untilLockHeldBy(env.client, connectionLockId('sim'), handle.workflowId);
      const ended = handle.result().then(() => true, () => true);
      for (let i = 0; !(await Promise.race([ended, Promise.resolve(false)])); i++) {
        progressSeen.push(await handle.query(progressQuery));
        const rival = await env.client.workflow.start('qualysSync', { taskQueue, workflowId: `rival-${i}-${Date.now()}`, args: [{ connection: 'sim', pageSize: 10 }] });
        const result = (await rival.result()) as SyncResult;
        rivals.push({ result, startedAt: (await rival.describe()).startTime });
      }
    };
    const run = await runSync(env, simulator, { input: { pageSize: 10 }, whileRunning: contest });

    // Every rival that found the connection taken was turned away by this run; one that raced the run's
    // very end (after its lock was released) may have run. Either way, no two holders ever overlapped.
    const turnedAway = rivals.filter((r) => r.result.outcome === 'skipped');
    expect(turnedAway.length).toBeGreaterThan(0);
    for (const rival of turnedAway) expect(rival.result).toMatchObject({ outcome: 'skipped', alreadyRunning: run.workflowId });
    expect(rivals.filter((r) => r.result.outcome !== 'skipped').length).toBeLessThanOrEqual(1);
    for (const p of progressSeen) expect(p.pagesFetched).toBeLessThanOrEqual(p.pagesTotal);
    const locks = [];
    for await (const lock of env.client.workflow.list({ query: `WorkflowId = "${connectionLockId('sim')}"` })) locks.push(lock);
    locks.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    for (let i = 1; i < locks.length; i++) expect(locks[i].startTime.getTime()).toBeGreaterThanOrEqual(locks[i - 1].closeTime?.getTime() ?? Infinity);
    // One lock for the whole run: no execution of it ended and started again at a continue-as-new.
    expect(locks.filter((lock) => lock.parentExecution?.workflowId === run.workflowId)).toHaveLength(1);
    const truth = simulator.truth();
    const expected = expectedFrom(truth, 'sim');

    expect(run.report.continuedAsNew).toBeGreaterThanOrEqual(2);
    expect(run.assets.length).toBe(truth.hosts.length);
    expect(run.findings.map((f) => f.key)).toEqual(expected.findingKeys);
    expect(run.result.totals).toMatchObject({ pages: 9, detections: expected.detections, droppedNoCve: expected.droppedNoCve });

    // The first execution ended by continuing as new, carrying no page data.
    const firstRun = await env.client.workflow.getHandle(run.workflowId, run.report.runKey).fetchHistory();
    const last = firstRun.events?.at(-1);
    const carried = last?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[1]?.data;
    expect(carried).toBeDefined();
    expect(Buffer.from(carried ?? new Uint8Array()).length).toBeLessThan(4096);
    await expectNoSecretAnywhere(env, simulator.password, run.workflowId, run.databaseUrl);
  });
});
