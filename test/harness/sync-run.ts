import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { GroundTruth, RunningSimulator } from '../../simulator';
import type { SyncActivityDeps } from '../../src/activities/sync-activities';
import { ConnectionProfiles } from '../../src/config/connections';
import type { Asset, Finding } from '../../src/model/exposure';
import { exportCurrentState, readCurrent } from '../../src/store/export';
import type { RunReport } from '../../src/store/types';
import { openActivityDeps } from '../../src/worker/activity-deps';
import { databaseAsText, freshDatabase, testDatabasePassword } from './database';
import { completedSync, type CompletedSync } from '../../src/workflows/sync-result';
import { createTestWorker, freshTaskQueue, historyAsText, workerLogs } from './temporal';

export interface TestEnv {
  client: Client;
  nativeConnection: NativeConnection;
  namespace: string;
}

export interface SyncRunOptions {
  /** The connection the run's input names (default "sim"). */
  connection?: string;
  /** The name the worker's profile has; the input's connection unless a test wants a mismatch. */
  profileName?: string;
  /** Credentials of the profile; the simulator's first user unless given. */
  credentials?: { username: string; password: string };
  input?: Record<string, unknown>;
  /** The store's database (default: a fresh one, so the run starts from an empty store). */
  databaseUrl?: string;
  /** Changes to the real dependencies (a failing store, shorter limit waits …). */
  adjustDeps?: (deps: SyncActivityDeps) => SyncActivityDeps;
  /** A workflow ID of the test's choosing (default: derived from the task queue). */
  workflowId?: string;
  /** Runs while the workflow is in progress (e.g. polls its progress). */
  whileRunning?: (handle: WorkflowHandle) => Promise<void>;
}

export interface SyncRun {
  result: CompletedSync;
  workflowId: string;
  databaseUrl: string;
  report: RunReport;
  assets: Asset[];
  findings: Finding[];
}

/** A run started with a real in-process worker serving it in the background. */
export interface StartedSyncRun {
  handle: WorkflowHandle;
  workflowId: string;
  /** The run's key in the store: its first execution's run ID. */
  runKey: string;
  databaseUrl: string;
  taskQueue: string;
  /** Stops the worker (after the run ended, or to leave it unserved) and closes its store. */
  stop(): Promise<void>;
}

/** Starts a qualysSync run on a fresh task queue, served by a real in-process worker against the simulator. */
export async function startSyncRun(env: TestEnv, simulator: RunningSimulator, options: SyncRunOptions = {}): Promise<StartedSyncRun> {
  const connection = options.connection ?? 'sim';
  const databaseUrl = options.databaseUrl ?? (await freshDatabase());
  const taskQueue = freshTaskQueue(connection);
  const real = await openActivityDeps({
    databaseUrl,
    profiles: ConnectionProfiles.of({
      name: options.profileName ?? connection,
      apiUrl: simulator.url,
      username: options.credentials?.username ?? simulator.username,
      password: options.credentials?.password ?? simulator.password,
    }),
  });
  const deps = options.adjustDeps ? options.adjustDeps(real) : real;
  const worker = await createTestWorker(env.nativeConnection, env.namespace, taskQueue, deps);
  const running = worker.run();
  const workflowId = options.workflowId ?? `${connection}-${taskQueue}`;
  const stop = async (): Promise<void> => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => undefined);
    await real.close();
  };
  try {
    const handle = await env.client.workflow.start('qualysSync', { taskQueue, workflowId, args: [{ connection, ...options.input }] });
    return { handle, workflowId, runKey: handle.firstExecutionRunId, databaseUrl, taskQueue, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One qualysSync run on a fresh task queue with a real in-process worker against the simulator. */
export async function runSync(env: TestEnv, simulator: RunningSimulator, options: SyncRunOptions = {}): Promise<SyncRun> {
  const started = await startSyncRun(env, simulator, options);
  try {
    await Promise.all([started.handle.result(), options.whileRunning?.(started.handle)]);
    const result = completedSync(await started.handle.result());
    return { result, workflowId: started.workflowId, databaseUrl: started.databaseUrl, ...(await readOutput(started.databaseUrl, result)) };
  } finally {
    await started.stop();
  }
}

export function readJsonLines<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** The run's report and the connection's current state, read from the store as `npm run export` reads them. */
export async function readOutput(databaseUrl: string, result: CompletedSync): Promise<{ report: RunReport; assets: Asset[]; findings: Finding[] }> {
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    const { rows } = await pool.query<{ report: RunReport }>('SELECT report FROM runs WHERE run_key = $1', [result.runKey]);
    const report = rows[0]?.report;
    if (!report) throw new Error(`no report for run ${result.runKey}`);
    return {
      report,
      assets: await readCurrent<Asset>(pool, result.connection, 'assets'),
      findings: await readCurrent<Finding>(pool, result.connection, 'findings'),
    };
  } finally {
    await pool.end();
  }
}

/** `npm run export`'s files for the connection, read back. */
export async function exportedState(databaseUrl: string, connection: string): Promise<{ dir: string; assets: Asset[]; findings: Finding[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-export-'));
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    await exportCurrentState(pool, connection, dir);
  } finally {
    await pool.end();
  }
  return { dir, assets: readJsonLines<Asset>(path.join(dir, 'assets.jsonl')), findings: readJsonLines<Finding>(path.join(dir, 'findings.jsonl')) };
}

/** The connector's current state without the fields that say when the connector looked (or saw a change). */
export function stateWithoutSeenTimes(run: Pick<SyncRun, 'assets' | 'findings'>): unknown {
  return {
    assets: run.assets.map(({ firstSeenAt: _f, lastSeenAt: _l, removedAt: _r, ...rest }) => rest),
    findings: run.findings.map(({ firstSeenAt: _f, lastSeenAt: _l, closedAt: _c, reopenedAt: _o, ...rest }) => rest),
  };
}

/** What the connector must produce from the simulator's estate, computed from the ground truth alone. */
export function expectedFrom(truth: GroundTruth, connection: string): { findingKeys: string[]; droppedNoCve: number; detections: number } {
  const keys = new Set<string>();
  let droppedNoCve = 0;
  let detections = 0;
  for (const host of truth.hosts) {
    for (const d of host.detections) {
      detections += 1;
      const cves = truth.knowledgeBase[d.qid]?.cves ?? [];
      if (cves.length === 0) droppedNoCve += 1;
      for (const cve of cves) keys.add(`qualys:${connection}:host:${host.id}:cve:${cve}`);
    }
  }
  return { findingKeys: [...keys].sort(), droppedNoCve, detections };
}

export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

/**
 * The password appears nowhere: not in the workflow's full history (payloads decoded), not in the
 * store (every table), not in an export of the connection, not in what the workers logged. The test
 * database server's own password is checked with it.
 */
export async function expectNoSecretAnywhere(env: TestEnv, password: string, workflowId: string, databaseUrl: string, extraLogs = ''): Promise<void> {
  const secrets = [password, testDatabasePassword()];
  // Every execution of the run: continue-as-new chains them through continuedExecutionRunId.
  let runId: string | undefined;
  let connection: string | undefined;
  do {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const historyText = historyAsText(history);
    expect(historyText.includes('qualysSync')).toBe(true); // the history is really there and readable
    for (const secret of secrets) expect(historyText.includes(secret)).toBe(false);
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runId = started?.continuedExecutionRunId || undefined;
    connection ??= /"connection":"([^"]+)"/.exec(historyText)?.[1];
  } while (runId);
  const storeText = await databaseAsText(databaseUrl);
  expect(storeText.length).toBeGreaterThan(0); // the store is really there and readable
  const exported = connection ? await exportedState(databaseUrl, connection) : undefined;
  const exportedFiles = exported ? filesUnder(exported.dir).map((f) => readFileSync(f, 'utf8')).join('\n') : '';
  for (const secret of secrets) {
    expect(storeText.includes(secret)).toBe(false);
    expect(exportedFiles.includes(secret)).toBe(false);
    expect(workerLogs().includes(secret)).toBe(false);
    expect(extraLogs.includes(secret)).toBe(false);
  }
}
