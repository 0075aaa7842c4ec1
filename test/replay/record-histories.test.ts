import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection } from '@temporalio/worker';
import { connectionLockId } from '../../src/workflows/connection-lock';
import { startDevServer } from '../../temporal/dev-server';
import { runSync, startSyncRun, type TestEnv } from '../harness/sync-run';
import { historyAsText } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { until } from '../harness/until';

// Records the workflow histories the replay test (test/integration/replay.test.ts) replays against the
// current workflow code. Run it with `npm run replay:record` when the workflow changes on purpose (see
// the README, "Changing the workflow"); it is not part of `npm test`.

const HISTORIES_DIR = path.join(__dirname, 'histories');
const execFileAsync = promisify(execFile);

describe('record workflow histories for the replay test', () => {
  const testEnvironment = useTestEnvironment();
  const recorded: string[] = [];

  beforeAll(() => {
    // Only the files recorded here are replaced: histories kept from earlier versions stay and replay too.
    mkdirSync(HISTORIES_DIR, { recursive: true });
  });
  afterAll(() => {
    console.log(`recorded ${recorded.length} histories in ${HISTORIES_DIR}:\n  ${recorded.join('\n  ')}`);
  });

  /**
   * Writes a history as `temporal workflow show --output json` prints it (the form the SDK's replayer
   * reads, and the one a person downloads from a real cluster), after making sure no secret is in it.
   */
  async function save(env: TestEnv, name: string, handle: WorkflowHandle, secrets: string[], address = process.env.TEST_TEMPORAL_ADDRESS): Promise<void> {
    const { runId } = await handle.describe();
    const shown = await execFileAsync(process.env.TEST_TEMPORAL_CLI ?? 'temporal', [
      'workflow', 'show', '--workflow-id', handle.workflowId, '--run-id', runId, '--output', 'json', '--address', address ?? '', '--namespace', env.namespace,
    ], { maxBuffer: 64 * 1024 * 1024 });
    const history = historyFromJSON(JSON.parse(shown.stdout));
    const text = historyAsText(history);
    expect(text).toContain('qualys');
    for (const secret of secrets) expect(text.includes(secret)).toBe(false);
    writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), shown.stdout.endsWith('\n') ? shown.stdout : `${shown.stdout}\n`);
    recorded.push(`${name}.json (${history.events?.length ?? 0} events)`);
  }

  it('a completed run, its connection lock, and a run skipped because the connection was busy', async () => {
    const env = testEnvironment.env();
    const simulator = await testEnvironment.simulator({ hosts: 40, seed: 101 });
    const run = await runSync(env, simulator, { connection: 'replay', input: { pageSize: 20 } });
    await save(env, 'completed', env.client.workflow.getHandle(run.workflowId), [simulator.password]);
    await save(env, 'connection-lock', env.client.workflow.getHandle(connectionLockId('replay')), [simulator.password]);
    // A second full run on the same store: the cache knows every QID, so each page is applied as it arrives.
    const again = await runSync(env, simulator, { connection: 'replay', databaseUrl: run.databaseUrl, input: { pageSize: 20, mode: 'full' } });
    await save(env, 'applied-as-fetched', env.client.workflow.getHandle(again.workflowId), [simulator.password]);

    simulator.setFaults({ endpoint: 'hostDetection', latencyMs: 600_000 });
    const busy = await startSyncRun(env, simulator, { connection: 'replay-busy', input: { pageSize: 20 } });
    try {
      await until('the busy run holding its connection', async () => ((await busy.handle.describe()).raw.pendingActivities?.length ? true : undefined));
      const skipped = await env.client.workflow.start('qualysSync', { taskQueue: busy.taskQueue, workflowId: `replay-skipped-${Date.now()}`, args: [{ connection: 'replay-busy' }] });
      await skipped.result();
      await save(env, 'skipped', skipped, [simulator.password]);
      await busy.handle.cancel();
      await busy.handle.result().catch(() => undefined);
      await save(env, 'cancelled', busy.handle, [simulator.password]);
    } finally {
      await busy.stop();
    }
  });

  it('a first run whose KnowledgeBase rounds apply waiting pages during the fetch pass', async () => {
    const env = testEnvironment.env();
    // 32 pages: enough calls for a part-filled KnowledgeBase batch before the fetch pass ends.
    const simulator = await testEnvironment.simulator({ hosts: 64, seed: 106 });
    const run = await runSync(env, simulator, { connection: 'replay-rounds', input: { pageSize: 2 } });
    await save(env, 'rounds-applied-during-fetch', env.client.workflow.getHandle(run.workflowId), [simulator.password]);
  });

  it('a run whose page failed and was retried', async () => {
    const env = testEnvironment.env();
    const simulator = await testEnvironment.simulator({ hosts: 30, seed: 102 });
    simulator.setFaults({ endpoint: 'hostDetection', serverErrors: 2, serverErrorStatus: 500 });
    const run = await runSync(env, simulator, { connection: 'replay-retried', input: { pageSize: 15 } });
    await save(env, 'page-retried', env.client.workflow.getHandle(run.workflowId), [simulator.password]);
  });

  it('a run waiting on a Qualys rate-limit timer, and a run that failed', async () => {
    const env = testEnvironment.env();
    const simulator = await testEnvironment.simulator({ hosts: 20, seed: 103 });
    simulator.setFaults({ endpoint: 'hostDetection', rateLimitErrors: 1, rateLimitWaitSeconds: 3600 });
    const waiting = await startSyncRun(env, simulator, { connection: 'replay-waiting', input: { pageSize: 20 } });
    try {
      await until('the rate-limit timer', async () =>
        (await waiting.handle.fetchHistory()).events?.some((e) => e.timerStartedEventAttributes) ? true : undefined,
      );
      await save(env, 'waiting-on-rate-limit', waiting.handle, [simulator.password]);
      await waiting.handle.cancel();
      await waiting.handle.result().catch(() => undefined);
    } finally {
      await waiting.stop();
    }

    // A simulator of its own: the first one holds Host List Detection refused for the hour it announced.
    const broken = await testEnvironment.simulator({ hosts: 20, seed: 105 });
    broken.setFaults({ endpoint: 'hostDetection', malformedXml: 1000 });
    const failing = await startSyncRun(env, broken, { connection: 'replay-failed', input: { pageSize: 20 } });
    try {
      await failing.handle.result().catch(() => undefined);
      await save(env, 'failed', failing.handle, [broken.password]);
    } finally {
      await failing.stop();
    }
  });

  it('a run that continued as new', async () => {
    testEnvironment.env(); // installs the test Runtime
    const server = await startDevServer({
      cliPath: process.env.TEST_TEMPORAL_CLI,
      uiPort: false,
      logLevel: 'error',
      stdio: 'ignore',
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
    });
    const connection = await Connection.connect({ address: server.address });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    try {
      const env = { client: new Client({ connection, namespace: server.namespace }), nativeConnection, namespace: server.namespace };
      const simulator = await testEnvironment.simulator({ hosts: 60, seed: 104 });
      const run = await runSync(env, simulator, { connection: 'replay-continued', input: { pageSize: 10 } });
      expect(run.report.continuedAsNew).toBeGreaterThanOrEqual(1);
      // The first execution (it ends by continuing as new) and the last one (it resumes from a continuation).
      await save(env, 'continued-as-new-first', env.client.workflow.getHandle(run.workflowId, run.result.runKey), [simulator.password], server.address);
      await save(env, 'continued-as-new-last', env.client.workflow.getHandle(run.workflowId), [simulator.password], server.address);
    } finally {
      await nativeConnection.close();
      await connection.close();
      await server.stop();
    }
  });
});
