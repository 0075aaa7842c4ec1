import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import type { PageRef } from '../../src/contracts/run';
import { completedSync, type CompletedSync } from '../../src/workflows/sync-result';
import { freshDatabase } from '../harness/database';
import { expectNoSecretAnywhere, readOutput, runSync, stateWithoutSeenTimes } from '../harness/sync-run';
import { freshTaskQueue } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { startWorkerProcess, waitForPages, workerEnvFor } from '../harness/worker-process';

describe('a worker process killed mid-run', () => {
  const testEnvironment = useTestEnvironment();

  it('is replaced by a new one on another data directory; the run completes with a clean run\'s output and no uploaded page is fetched again', async () => {
    const env = testEnvironment.env();
    const estate = { hosts: 120, seed: 9, latencyMs: 150 };
    const cleanSim = await testEnvironment.simulator(estate);
    const sim = await testEnvironment.simulator(estate);
    const input = { connection: 'default', pageSize: 10, heartbeatTimeoutSeconds: 2 };
    const clean = await runSync(env, cleanSim, { connection: 'default', input });

    const taskQueue = freshTaskQueue('crash');
    const databaseUrl = await freshDatabase();
    // Each worker gets a data directory of its own: they share nothing but PostgreSQL and Temporal, so
    // the second one maps and uploads pages the first one fetched, as on another machine.
    const workerEnv = (): NodeJS.ProcessEnv => workerEnvFor({ taskQueue, namespace: env.namespace, simulator: sim, databaseUrl });
    const first = await startWorkerProcess(workerEnv());
    const workflowId = `crash-${taskQueue}`;
    const handle = await env.client.workflow.start('qualysSync', { taskQueue, workflowId, args: [input] });

    // Kill the worker the hard way once a few pages are fetched (the run has 12).
    await waitForPages(handle, 'pagesFetched', 4);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = await startWorkerProcess(workerEnv());
    let result: CompletedSync;
    try {
      result = completedSync(await handle.result());
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }

    // Same output as a run that never crashed.
    expect(stateWithoutSeenTimes(await readOutput(databaseUrl, result))).toEqual(stateWithoutSeenTimes(clean));
    expect(result.totals).toEqual(clean.result.totals);

    // No page was fetched from Qualys after it had been uploaded.
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const uploads = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'uploadPage');
    expect(uploads.length).toBe(12);
    const requests = sim.stats().requests;
    for (const scheduled of uploads) {
      const [ref] = (scheduled.activityTaskScheduledEventAttributes?.input?.payloads ?? []).map((p) =>
        defaultPayloadConverter.fromPayload<PageRef>(p),
      );
      const completed = events.find(
        (e) => e.activityTaskCompletedEventAttributes && Number(e.activityTaskCompletedEventAttributes.scheduledEventId) === Number(scheduled.eventId),
      );
      expect(completed).toBeDefined();
      const uploadedAt = tsToMs(completed?.eventTime);
      const laterFetches = requests.filter(
        (r) =>
          r.at > uploadedAt &&
          ((r.params.id_min === String(ref.page.idMin) && r.params.id_max === String(ref.page.idMax)) ||
            r.params['qwebHostId GREATER'] === String(ref.page.idMin - 1)),
      );
      expect(laterFetches).toEqual([]);
    }
    // Every page's detections were fetched at least once, and at most twice (the page in flight at the kill).
    const detectionFetches = requests.filter((r) => r.endpoint === 'hostDetection' && r.params.id_min !== undefined);
    expect(detectionFetches.length).toBeGreaterThanOrEqual(12);
    expect(detectionFetches.length).toBeLessThanOrEqual(12 + 1);

    await expectNoSecretAnywhere(env, sim.password, workflowId, databaseUrl, first.output() + second.output());
  });
});
