import { startSimulator, type RunningSimulator } from '../../simulator';
import { ConnectionProfiles } from '../../src/config/connections';
import { openActivityDeps } from '../../src/worker/activity-deps';
import { freshDatabase } from '../harness/database';
import type { SyncProgress } from '../../src/workflows/progress';
import type { SyncResult } from '../../src/workflows/sync-result';
import { temporalCli } from '../harness/cli';
import { until } from '../harness/until';
import { connectToTestServer, createTestWorker, freshTaskQueue } from '../harness/temporal';

describe('the Temporal CLI, as a user types it', () => {
  let env: Awaited<ReturnType<typeof connectToTestServer>>;
  let simulator: RunningSimulator;
  beforeAll(async () => {
    env = await connectToTestServer();
    simulator = await startSimulator({ hosts: 120, seed: 17, latencyMs: 200 });
  });
  afterAll(async () => {
    await simulator?.close();
    await env?.close();
  });

  it('starts a run, queries its progress while it runs, lists it by connection, describes it and reads its result', async () => {
    const connection = `cli-${Date.now()}`;
    const taskQueue = freshTaskQueue('cli');
    const deps = await openActivityDeps({
      databaseUrl: await freshDatabase(),
      profiles: ConnectionProfiles.of({ name: connection, apiUrl: simulator.url, username: simulator.username, password: simulator.password }),
    });
    const worker = await createTestWorker(env.nativeConnection, env.namespace, taskQueue, deps);
    await worker.runUntil(async () => {
      simulator.setFaults({ endpoint: 'hostDetection', latencyMs: 2000 });
      const started = await temporalCli([
        'workflow', 'start', '--type', 'qualysSync', '--task-queue', taskQueue,
        '--input', JSON.stringify({ connection, pageSize: 10 }), '-o', 'json',
      ]);
      expect(started.code).toBe(0);
      const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
      expect(workflowId).toBeTruthy();

      // Progress while it runs: detection calls are slowed (about 25 s of pages, for a CLI call that
      // takes a second or two) until the CLI has seen one in progress; polled until seen, not N times.
      const running = await until('the CLI to show the run fetching pages', async () => {
        const queried = await temporalCli(['workflow', 'query', '--workflow-id', workflowId, '--name', 'progress', '-o', 'json']);
        if (queried.code !== 0) return undefined;
        const progress = (JSON.parse(queried.stdout) as { queryResult: SyncProgress[] }).queryResult[0];
        return progress?.phase === 'fetching pages' && progress.pagesFetched < progress.pagesTotal ? progress : undefined;
      });
      simulator.clearFaults();
      expect(running).toMatchObject({ connection, phase: 'fetching pages', pagesTotal: 12 });

      // Listed by the connection search attribute (visibility catches up within moments).
      const listed = await until('the run to be listed by its connection', async () => {
        const stdout = (await temporalCli(['workflow', 'list', '--query', `QualysConnection='${connection}'`, '-o', 'json'])).stdout;
        return stdout.includes(workflowId) ? stdout : undefined;
      });
      expect(listed).toContain(workflowId);

      const result = await temporalCli(['workflow', 'result', '--workflow-id', workflowId, '-o', 'json']);
      expect(result.code).toBe(0);
      const outcome = (JSON.parse(result.stdout) as { result: SyncResult }).result;
      expect(outcome).toMatchObject({ outcome: 'completed', connection, totals: { hosts: 120, pages: 12 } });

      const described = await temporalCli(['workflow', 'describe', '--workflow-id', workflowId]);
      expect(described.code).toBe(0);
      expect(described.stdout).toMatch(/Status\s+COMPLETED/);
      expect(described.stdout).toContain('qualysSync');
    });
    await deps.close();
  });

  it('`workflow execute` with a bad input fails with a readable message', async () => {
    const taskQueue = freshTaskQueue('cli-bad');
    const deps = await openActivityDeps({ databaseUrl: await freshDatabase(), profiles: ConnectionProfiles.of() });
    const worker = await createTestWorker(env.nativeConnection, env.namespace, taskQueue, deps);
    const executed = await worker.runUntil(
      temporalCli(['workflow', 'execute', '--type', 'qualysSync', '--task-queue', taskQueue, '--input', '{"conection":"prod"}']),
    );
    expect(executed.code).not.toBe(0);
    const printed = executed.stdout + executed.stderr;
    expect(printed).toContain('Invalid qualysSync input');
    expect(printed).toContain('connection: connection is required');
    expect(printed).toContain('Unrecognized key: "conection"');
    await deps.close();
  });
});
