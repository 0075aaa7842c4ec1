import { startSimulator, type RunningSimulator } from '../../simulator';
import { scheduleId } from '../../src/cli/connection-schedules';
import { ConnectionProfiles } from '../../src/config/connections';
import { openActivityDeps } from '../../src/worker/activity-deps';
import { freshDatabase } from '../harness/database';
import type { SyncResult } from '../../src/workflows/sync-result';
import { projectCommand } from '../harness/cli';
import { connectToTestServer, createTestWorker, freshTaskQueue } from '../harness/temporal';
import { until } from '../harness/until';

describe('npm run schedule: one schedule per connection', () => {
  let env: Awaited<ReturnType<typeof connectToTestServer>>;
  let simulator: RunningSimulator;
  beforeAll(async () => {
    env = await connectToTestServer();
    simulator = await startSimulator({ hosts: 40, seed: 29, latencyMs: 100 });
  });
  afterAll(async () => {
    await simulator?.close();
    await env?.close();
  });

  it('starts runs on an interval, skips a trigger while its run is going, pauses, unpauses and deletes', async () => {
    const stamp = Date.now();
    const every = `sched-every-${stamp}`;
    const manual = `sched-manual-${stamp}`;
    const taskQueue = freshTaskQueue('schedules');
    const deps = await openActivityDeps({
      databaseUrl: await freshDatabase(),
      profiles: ConnectionProfiles.of(
        { name: every, apiUrl: simulator.url, username: simulator.username, password: simulator.password },
        { name: manual, apiUrl: simulator.url, username: simulator.username, password: simulator.password },
      ),
    });
    const commandEnv = {
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: env.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
    };
    const schedule = (...args: string[]) => projectCommand('schedule', args, commandEnv);
    const describe = (connection: string) => env.client.schedule.getHandle(scheduleId(connection)).describe();
    const worker = await createTestWorker(env.nativeConnection, env.namespace, taskQueue, deps);

    await worker.runUntil(async () => {
      // An interval schedule starts runs by itself, and they complete: a full one first, then incremental
      // ones until the full one is older than --full-every.
      const created = await schedule('create', '--connection', every, '--every', '3s', '--full-every', '24h', '--page-size', '20');
      expect(created.stderr).toBe('');
      expect(created.stdout).toContain(`created schedule ${scheduleId(every)}`);
      const started = await until('two scheduled runs', async () => {
        const d = await describe(every);
        return d.info.recentActions.length >= 2 ? d.info.recentActions : undefined;
      });
      const firstRun = await env.client.workflow.getHandle(started[0].action.workflow.workflowId).result();
      expect(firstRun as SyncResult).toMatchObject({ outcome: 'completed', mode: 'full' });
      const secondRun = await env.client.workflow.getHandle(started[1].action.workflow.workflowId).result();
      expect(secondRun as SyncResult).toMatchObject({ outcome: 'completed', mode: 'incremental' });
      const summary = await (await env.client.workflow.getHandle(started[1].action.workflow.workflowId).describe()).staticSummary();
      expect(summary).toBe(`Qualys sync of connection ${every} (auto, full every 24 h, scheduled)`);
      expect((await schedule('delete', '--connection', every)).stdout).toContain('deleted');

      // A trigger while the schedule's own run is going is skipped (overlap policy Skip). Its detection
      // pages are held slow (8 pages, about 20 s) until the skip is seen, however slow the commands are.
      simulator.setFaults({ endpoint: 'hostDetection', latencyMs: 2500 });
      expect((await schedule('create', '--connection', manual, '--every', '1h', '--jitter', '1m', '--page-size', '5')).stdout).toContain('created');
      expect((await schedule('trigger', '--connection', manual)).stdout).toContain('triggered');
      await until('the triggered run', async () => ((await describe(manual)).info.runningActions.length === 1 ? true : undefined));
      expect((await schedule('trigger', '--connection', manual)).code).toBe(0);
      const afterSecondTrigger = await until('the skip to be counted', async () => {
        const d = await describe(manual);
        return d.info.numActionsSkippedOverlap >= 1 ? d : undefined;
      });
      simulator.clearFaults();
      expect(afterSecondTrigger.info.numActionsTaken).toBe(1);
      expect(afterSecondTrigger.policies.overlap).toBe('SKIP');

      const described = await schedule('describe', '--connection', manual);
      expect(described.stdout).toMatch(/runs started:\s+1 · skipped \(overlap\) 1/);
      expect((await schedule('list')).stdout).toContain(scheduleId(manual));

      expect((await schedule('pause', '--connection', manual, '--reason', 'Qualys maintenance window')).code).toBe(0);
      expect((await describe(manual)).state).toMatchObject({ paused: true, note: 'Qualys maintenance window' });
      expect((await schedule('describe', '--connection', manual)).stdout).toContain('PAUSED — Qualys maintenance window');
      expect((await schedule('unpause', '--connection', manual)).code).toBe(0);
      expect((await describe(manual)).state.paused).toBe(false);

      // Let the triggered run finish before the worker stops, then delete.
      const triggered = (await describe(manual)).info.recentActions[0].action.workflow.workflowId;
      await env.client.workflow.getHandle(triggered).result();
      expect((await schedule('delete', '--connection', manual)).stdout).toContain('deleted');
      const gone = await schedule('describe', '--connection', manual);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain(`no schedule ${scheduleId(manual)}`);
    });
    await deps.close();
  });

  it('explains bad options', async () => {
    const both = await projectCommand('schedule', ['create', '--connection', 'x', '--every', '1h', '--cron', '0 3 * * *'], {
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    });
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('give exactly one of --every');
    const badDuration = await projectCommand('schedule', ['create', '--connection', 'x', '--every', 'often'], {
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    });
    expect(badDuration.stderr).toContain('--every must be a duration such as 6h');
  });
});
