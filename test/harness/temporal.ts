import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { SyncActivityDeps } from '../../src/activities/sync-activities';
import { createConnectorWorker } from '../../src/worker/create-worker';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: integration tests need the jest global setup (run them with \`npm test\`)`);
  return value;
}

let runtimeInstalled = false;
const workerLogLines: string[] = [];

/** Everything the in-process workers and the SDK logged in this test file (for the secrets checks). */
export function workerLogs(): string {
  return workerLogLines.join('\n');
}

/** Everything an integration test needs to talk to the shared dev server. */
export async function connectToTestServer(): Promise<{
  client: Client;
  nativeConnection: NativeConnection;
  namespace: string;
  close(): Promise<void>;
}> {
  if (!runtimeInstalled) {
    // Keep every log entry (DEBUG and up) so tests can prove no secret reaches a log; print only errors.
    Runtime.install({
      logger: new DefaultLogger('DEBUG', (entry) => {
        workerLogLines.push(`${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {})}`);
        if (entry.level === 'ERROR') console.error(entry.message, entry.meta ?? '');
      }),
    });
    runtimeInstalled = true;
  }
  const address = requiredEnv('TEST_TEMPORAL_ADDRESS');
  const namespace = requiredEnv('TEST_TEMPORAL_NAMESPACE');
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  return {
    client: new Client({ connection, namespace }),
    nativeConnection,
    namespace,
    async close() {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/** A fresh task queue per test, so workers of different tests never pick up each other's tasks. */
export function freshTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

export async function createTestWorker(
  nativeConnection: NativeConnection,
  namespace: string,
  taskQueue: string,
  deps: SyncActivityDeps,
): Promise<Worker> {
  return createConnectorWorker({
    connection: nativeConnection,
    namespace,
    taskQueue,
    deps,
    workflowBundlePath: requiredEnv('TEST_WORKFLOW_BUNDLE'),
    tuning: { shutdownGraceTime: '5s' },
  });
}

/**
 * A workflow history as searchable text. Payloads (inputs, results, failures' details, memo, search
 * attributes, summaries) are bytes — Uint8Array, or base64 in the JSON form — so they are decoded as
 * UTF-8 first; otherwise a test looking for a secret would pass whatever the history held.
 */
export function historyAsText(history: unknown): string {
  const texts: string[] = [];
  const visit = (value: unknown, key: string, parent: object | undefined): void => {
    if (value instanceof Uint8Array) texts.push(Buffer.from(value).toString('utf8'));
    else if (typeof value === 'string') {
      texts.push(key === 'data' && parent && 'metadata' in parent ? Buffer.from(value, 'base64').toString('utf8') : value);
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, k, value);
    }
  };
  visit(history, '', undefined);
  return texts.join('\n');
}
