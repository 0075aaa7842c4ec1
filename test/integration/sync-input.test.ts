import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ConnectionProfiles } from '../../src/config/connections';
import { openActivityDeps } from '../../src/worker/activity-deps';
import { freshDatabase } from '../harness/database';
import { connectToTestServer, createTestWorker, freshTaskQueue } from '../harness/temporal';
import type { QualysApi } from '../../src/activities/sync-activities';

describe('qualysSync input', () => {
  let env: Awaited<ReturnType<typeof connectToTestServer>>;
  beforeAll(async () => {
    env = await connectToTestServer();
  });
  afterAll(async () => env?.close());

  const unusedQualys = (): QualysApi => {
    throw new Error('a run with a bad input must not reach Qualys');
  };

  it.each([
    [{}, 'connection: connection is required'],
    [{ connection: 'prod', pageSize: 0 }, 'pageSize'],
    [{ connection: 'bad name!' }, 'connection must be'],
    [{ connection: 'prod', pagesize: 10 }, 'pagesize'],
  ])('fails at once, non-retryably, naming the field: %j', async (input, expected) => {
    const taskQueue = freshTaskQueue('input');
    const deps = await openActivityDeps({ databaseUrl: await freshDatabase(), profiles: ConnectionProfiles.of() });
    const worker = await createTestWorker(env.nativeConnection, env.namespace, taskQueue, { ...deps, qualys: unusedQualys });
    const failure = await worker
      .runUntil(
        env.client.workflow
          .execute('qualysSync', { taskQueue, workflowId: `input-${taskQueue}`, args: [input] })
          .then(() => undefined, (err: unknown) => err),
      )
      .finally(() => deps.close());
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidSyncInput');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect((cause as ApplicationFailure).message).toContain(expected);
  });
});
