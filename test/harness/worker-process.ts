import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { projectRoot } from '../../src/config/project-paths';
import { progressQuery } from '../../src/workflows/progress';

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
}

/**
 * Starts the production worker (`lib/src/worker/main.js`, compiled by the global setup) as a real
 * process, so tests can kill it, signal it and read its logs like an operator would.
 */
export async function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [path.join(projectRoot(), 'lib', 'src', 'worker', 'main.js')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  const deadline = Date.now() + 30_000;
  while (!output.includes('worker polling')) {
    const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 100))]);
    if (early !== undefined) throw new Error(`worker process exited (${String(early)}) before polling:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker process did not start polling within 30 s:\n${output}`);
    }
  }
  return { child, output: () => output, exited };
}

/**
 * The environment a worker process needs to serve `taskQueue` on the test server against a simulator,
 * with the store at `databaseUrl`. Each call gets a data directory of its own: workers share nothing
 * but PostgreSQL and Temporal, as on separate machines.
 */
export function workerEnvFor(options: {
  taskQueue: string;
  namespace: string;
  simulator: { url: string; username: string; password: string };
  databaseUrl: string;
}): NodeJS.ProcessEnv {
  return {
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: options.namespace,
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    QUALYS_API_URL: options.simulator.url,
    QUALYS_USERNAME: options.simulator.username,
    QUALYS_PASSWORD: options.simulator.password,
    DATABASE_URL: options.databaseUrl,
    QUALYS_CONNECTOR_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'qualys-worker-')),
  };
}

/** Waits until the run has fetched (or applied) at least `pages` pages, asking its `progress` query. */
export async function waitForPages(
  handle: WorkflowHandle,
  counter: 'pagesFetched' | 'pagesApplied',
  pages: number,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await handle.query(progressQuery).catch(() => undefined);
    if (progress && progress[counter] >= pages) return;
    if (Date.now() > deadline) throw new Error(`the run did not reach ${pages} pages within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
