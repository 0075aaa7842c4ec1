import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { NativeConnection } from '@temporalio/worker';
import type { PageRange } from '../../src/contracts/run';
import { ConnectionProfiles } from '../../src/config/connections';
import { openActivityDeps } from '../../src/worker/activity-deps';
import { completedSync } from '../../src/workflows/sync-result';
import { freePort, startDevServer, type DevServerOptions, type RunningDevServer } from '../../temporal/dev-server';
import { freshDatabase } from '../harness/database';
import { expectedFrom, readOutput, runSync, stateWithoutSeenTimes } from '../harness/sync-run';
import { createTestWorker, freshTaskQueue } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { until } from '../harness/until';
import { waitForPages } from '../harness/worker-process';

/** Calls per endpoint as a simulator counted them, without the endpoints never called. */
function callsPerEndpoint(calls: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).filter(([, n]) => n > 0));
}

describe('the Temporal server stopped mid-run and started again on the same SQLite file and port', () => {
  const testEnvironment = useTestEnvironment();
  // Here, not in a finally: a test that times out never reaches its finally, and this server must not outlive the run.
  let server: RunningDevServer | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the run completes with exact output and no page is fetched from Qualys twice', async () => {
    const estate = { hosts: 120, seed: 41 };
    const connection = 'restart';
    // Should the worker give up reporting a result while the server is away (the SDK retries that call
    // for about 10 s), the step is retried after this heartbeat timeout instead of the default two minutes.
    const input = { pageSize: 10, heartbeatTimeoutSeconds: 10 };

    // What the run must produce, and the fewest Qualys calls that produce it: a clean run on the suite's server.
    const cleanSim = await testEnvironment.simulator(estate);
    const clean = await runSync(testEnvironment.env(), cleanSim, { connection, input });

    // A dev server of this test's own (the same pinned CLI as the suite's), on a SQLite file and a fixed
    // port, so that it comes back where the worker and the client left it.
    dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-temporal-restart-'));
    const serverOptions: DevServerOptions = {
      cliPath: process.env.TEST_TEMPORAL_CLI,
      port: await freePort(),
      uiPort: false,
      dbFile: path.join(dir, 'temporal.db'),
      logLevel: 'error',
      stdio: 'ignore',
    };
    // Slow detection pages (12 of them, one at a time at the Standard tier): after the first page there
    // are more than ten seconds of run left, for a stop that takes one or two.
    const sim = await testEnvironment.simulator({ ...estate, latencyMs: 200 });
    sim.setFaults({ endpoint: 'hostDetection', latencyMs: 1000 });
    const databaseUrl = await freshDatabase();
    const deps = await openActivityDeps({
      databaseUrl,
      profiles: ConnectionProfiles.of({ name: connection, apiUrl: sim.url, username: sim.username, password: sim.password }),
    });
    // Detection calls that reached the simulator, and those it answered (it logs a call once answered).
    const detectionCalls = (): { arrived: number; answered: number } => {
      const stats = sim.stats();
      return { arrived: stats.calls.hostDetection, answered: stats.requests.filter((r) => r.endpoint === 'hostDetection').length };
    };

    server = await startDevServer(serverOptions);
    const clientConnection = await Connection.connect({ address: server.address });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    try {
      const client = new Client({ connection: clientConnection, namespace: server.namespace });
      const taskQueue = freshTaskQueue('restart');
      const worker = await createTestWorker(nativeConnection, server.namespace, taskQueue, deps);
      const workflowId = `${connection}-${taskQueue}`;
      let restartedAt = 0;
      let pageInFlight = 0;
      const result = await worker.runUntil(async () => {
        const handle = await client.workflow.start('qualysSync', { taskQueue, workflowId, args: [{ connection, ...input }] });
        // Stopped on observed progress, never after a sleep: a page fetched and staged, the next at Qualys.
        await waitForPages(handle, 'pagesFetched', 1);
        pageInFlight = (
          await until('a detection page in flight at Qualys', async () => {
            const calls = detectionCalls();
            return calls.arrived > calls.answered ? calls : undefined;
          })
        ).arrived;
        await server?.stop();
        server = undefined;
        // Qualys answers that page while the server is down: the worker holds a result it cannot report yet.
        await until('the page in flight to be answered', async () => (detectionCalls().answered >= pageInFlight ? true : undefined));
        restartedAt = Date.now();
        server = await startDevServer(serverOptions);
        return completedSync(await handle.result());
      });

      // The stop was mid-run: the run ended after the server came back, and the page that was in flight
      // was reported to the restarted server, once.
      const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes);
      expect(tsToMs(completed?.eventTime)).toBeGreaterThan(restartedAt);
      const inFlightRequest = sim.stats().requests.filter((r) => r.endpoint === 'hostDetection')[pageInFlight - 1];
      const fetchOfPage = events.find((e) => {
        const scheduled = e.activityTaskScheduledEventAttributes;
        if (scheduled?.activityType?.name !== 'fetchDetections') return false;
        const [arg] = (scheduled.input?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload<{ page: PageRange }>(p));
        return String(arg?.page.idMin) === inFlightRequest?.params.id_min;
      });
      expect(fetchOfPage).toBeDefined();
      const reported = events.filter((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? -1) === Number(fetchOfPage?.eventId));
      expect(reported).toHaveLength(1);
      expect(tsToMs(reported[0]?.eventTime)).toBeGreaterThan(restartedAt);

      // Exact output: the simulator's estate, and the very state of the clean run.
      const output = await readOutput(databaseUrl, result);
      const truth = sim.truth();
      expect(output.findings.map((f) => f.key)).toEqual(expectedFrom(truth, connection).findingKeys);
      expect(output.assets.map((a) => a.qualysHostId).sort()).toEqual(truth.hosts.map((h) => h.id).sort());
      expect(stateWithoutSeenTimes(output)).toEqual(stateWithoutSeenTimes(clean));
      expect(result.totals).toEqual(clean.result.totals);

      // No page fetched twice: the fewest calls per endpoint (the clean run's), each page's detections once.
      expect(callsPerEndpoint(sim.stats().calls)).toEqual(callsPerEndpoint(cleanSim.stats().calls));
      const pageFetches = sim.stats().requests.filter((r) => r.endpoint === 'hostDetection').map((r) => r.params.id_min);
      expect(pageFetches).toHaveLength(result.totals.pages);
      expect(new Set(pageFetches).size).toBe(result.totals.pages);
    } finally {
      await clientConnection.close();
      await nativeConnection.close();
      await deps.close();
    }
  }, 240_000);
});
