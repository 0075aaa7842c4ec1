import { startSimulator, type RunningSimulator } from '../../simulator';
import { scheduleId } from '../../src/cli/connection-schedules';
import { ConnectionProfiles } from '../../src/config/connections';
import { openActivityDeps } from '../../src/worker/activity-deps';
import { freshDatabase } from '../harness/database';
import { completedSync, type SyncResult } from '../../src/workflows/sync-result';
import { projectCommand, temporalCli } from '../harness/cli';
import { expectedFrom, readOutput } from '../harness/sync-run';
import { connectionLockId } from '../../src/workflows/connection-lock';
import { connectToTestServer, createTestWorker, freshTaskQueue } from '../harness/temporal';
import { until, untilLockHeldBy } from '../harness/until';

describe('one run per connection at a time', () => {
  let env: Awaited<ReturnType<typeof connectToTestServer>>;
  let simulator: RunningSimulator;
  beforeAll(async () => {
    env = await connectToTestServer();
    // Slow enough that the first run is still going while the others try.
    simulator = await startSimulator({ hosts: 120, seed: 31, latencyMs: 300 });
  });
  afterAll(async () => {
    await simulator?.close();
    await env?.close();
  });

  it('a second run started by the client, the Temporal CLI or a schedule ends at once as "already running", and the first is untouched', async () => {
    const connection = `single-${Date.now()}`;
    const taskQueue = freshTaskQueue('single');
    const databaseUrl = await freshDatabase();
    const deps = await openActivityDeps({
      databaseUrl,
      profiles: ConnectionProfiles.of({ name: connection, apiUrl: simulator.url, username: simulator.username, password: simulator.password }),
    });
    const worker = await createTestWorker(env.nativeConnection, env.namespace, taskQueue, deps);
    const input = { connection, pageSize: 10 };
    const expectSkipped = (result: unknown, firstId: string): void => {
      expect(result).toMatchObject({ outcome: 'skipped', connection, alreadyRunning: firstId });
      expect((result as { message: string }).message).toContain(`already running: ${firstId}`);
    };

    await worker.runUntil(async () => {
      // Slow detection pages hold the first run open while the others try (about 25 s of headroom for
      // what takes a few seconds); cleared once they have, so the run then ends quickly.
      simulator.setFaults({ endpoint: 'hostDetection', latencyMs: 2000 });
      const first = await env.client.workflow.start('qualysSync', { taskQueue, workflowId: `${connection}-first`, args: [input] });
      await untilLockHeldBy(env.client, connectionLockId(connection), first.workflowId);

      // 1. Our own client, any other workflow ID.
      const viaClient = await env.client.workflow.execute('qualysSync', { taskQueue, workflowId: `${connection}-second`, args: [input] });
      expectSkipped(viaClient, first.workflowId);

      // 2. The Temporal CLI, as a user types it.
      const viaCli = await temporalCli([
        'workflow', 'execute', '--type', 'qualysSync', '--task-queue', taskQueue, '--input', JSON.stringify(input), '-o', 'json',
      ]);
      expect(viaCli.code).toBe(0);
      expectSkipped((JSON.parse(viaCli.stdout) as { result: SyncResult }).result, first.workflowId);

      // 3. The connection's schedule, triggered with the project command.
      const commandEnv = { TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE: taskQueue };
      expect((await projectCommand('schedule', ['create', '--connection', connection, '--every', '1h'], commandEnv)).code).toBe(0);
      expect((await projectCommand('schedule', ['trigger', '--connection', connection], commandEnv)).code).toBe(0);
      const handle = env.client.schedule.getHandle(scheduleId(connection));
      const scheduledRun = await until('the schedule to start its run', async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId);
      expectSkipped(await env.client.workflow.getHandle(scheduledRun).result(), first.workflowId);
      await handle.delete();
      // The premise of all three: the first run was still going when they tried.
      expect((await first.describe()).status.name).toBe('RUNNING');
      simulator.clearFaults();

      // None of them spent a Qualys call: only the first run's credentials check probed the KnowledgeBase.
      const probes = simulator.stats().requests.filter((r) => r.endpoint === 'knowledgeBase' && r.params.ids === '6');
      expect(probes.length).toBe(1);
      // The first run finishes with exactly the estate.
      const firstResult = completedSync(await first.result());
      const truth = simulator.truth();
      expect((await readOutput(databaseUrl, firstResult)).findings.map((f) => f.key)).toEqual(expectedFrom(truth, connection).findingKeys);
      expect(firstResult.totals.hosts).toBe(truth.hosts.length);

      // And once it is done, the connection is free again.
      const after = completedSync(await env.client.workflow.execute('qualysSync', { taskQueue, workflowId: `${connection}-after`, args: [{ ...input, pageSize: 120 }] }));
      expect(after.totals.hosts).toBe(truth.hosts.length);
    });
    await deps.close();
  });
});
