import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { ConnectionProfiles } from '../../src/config/connections';
import { JsonlSink } from '../../src/sinks/jsonl-sink';
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
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'qualys-input-'));
    const worker = await createTestWorker(env.nativeConnection, env.namespace, taskQueue, {
      profiles: ConnectionProfiles.of(),
      sink: new JsonlSink(path.join(dataDir, 'output')),
      stagingDir: path.join(dataDir, 'staging'),
      qualys: unusedQualys,
    });
    const failure = await worker.runUntil(
      env.client.workflow
        .execute('qualysSync', { taskQueue, workflowId: `input-${taskQueue}`, args: [input] })
        .then(() => undefined, (err: unknown) => err),
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidSyncInput');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect((cause as ApplicationFailure).message).toContain(expected);
  });
});
