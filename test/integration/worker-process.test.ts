import { startSimulator, type RunningSimulator } from '../../simulator';
import { completedSync } from '../../src/workflows/sync-result';
import { freshDatabase } from '../harness/database';
import { connectToTestServer, freshTaskQueue } from '../harness/temporal';
import { startWorkerProcess, workerEnvFor } from '../harness/worker-process';

describe('the production worker process', () => {
  let env: Awaited<ReturnType<typeof connectToTestServer>>;
  let simulator: RunningSimulator;

  beforeAll(async () => {
    env = await connectToTestServer();
    simulator = await startSimulator({ hosts: 60, seed: 3 });
  });
  afterAll(async () => {
    await simulator?.close();
    await env?.close();
  });

  it('reads its settings from the environment, completes a run, and exits cleanly on SIGTERM without logging the password', async () => {
    const taskQueue = freshTaskQueue('process');
    const worker = await startWorkerProcess(
      workerEnvFor({ taskQueue, namespace: env.namespace, simulator, databaseUrl: await freshDatabase() }),
    );
    try {
      const result = completedSync(
        await env.client.workflow.execute('qualysSync', { taskQueue, workflowId: `process-${taskQueue}`, args: [{ connection: 'default' }] }),
      );
      expect(result.totals.assets).toBe(simulator.truth().hosts.length);
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('worker polling task queue');
    expect(worker.output().includes(simulator.password)).toBe(false);
  });
});
