import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { startDevServer, type RunningDevServer } from '../../temporal/dev-server';
import { expectNoSecretAnywhere, expectedFrom, runSync } from '../harness/sync-run';
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
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
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

  it('carries only cursors and counters, and its output is still exact', async () => {
    const env = { client: new Client({ connection, namespace: server.namespace }), nativeConnection, namespace: server.namespace };
    const run = await runSync(env, simulator, { input: { pageSize: 10 } });
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
