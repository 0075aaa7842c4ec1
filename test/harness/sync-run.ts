import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { GroundTruth, RunningSimulator } from '../../simulator';
import type { SyncActivityDeps } from '../../src/activities/sync-activities';
import { ConnectionProfiles } from '../../src/config/connections';
import type { Asset, Finding } from '../../src/model/exposure';
import type { RunReport } from '../../src/sinks/sink';
import { createActivityDeps } from '../../src/worker/activity-deps';
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
  dataDir?: string;
  /** Changes to the real dependencies (a failing sink, shorter limit waits …). */
  adjustDeps?: (deps: SyncActivityDeps) => SyncActivityDeps;
  /** A workflow ID of the test's choosing (default: derived from the task queue). */
  workflowId?: string;
  /** Runs while the workflow is in progress (e.g. polls its progress). */
  whileRunning?: (handle: WorkflowHandle) => Promise<void>;
}

export interface SyncRun {
  result: CompletedSync;
  workflowId: string;
  dataDir: string;
  report: RunReport;
  assets: Asset[];
  findings: Finding[];
}

/** One qualysSync run on a fresh task queue with a real in-process worker against the simulator. */
export async function runSync(env: TestEnv, simulator: RunningSimulator, options: SyncRunOptions = {}): Promise<SyncRun> {
  const connection = options.connection ?? 'sim';
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'qualys-run-'));
  const taskQueue = freshTaskQueue(connection);
  const real = createActivityDeps({
    dataDir,
    profiles: ConnectionProfiles.of({
      name: options.profileName ?? connection,
      apiUrl: simulator.url,
      username: options.credentials?.username ?? simulator.username,
      password: options.credentials?.password ?? simulator.password,
    }),
  });
  const deps = options.adjustDeps ? options.adjustDeps(real) : real;
  const worker = await createTestWorker(env.nativeConnection, env.namespace, taskQueue, deps);
  const workflowId = options.workflowId ?? `${connection}-${taskQueue}`;
  try {
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('qualysSync', {
        taskQueue,
        workflowId,
        args: [{ connection, ...options.input }],
      });
      await Promise.all([handle.result(), options.whileRunning?.(handle)]);
      return completedSync(await handle.result());
    });
    return { result, workflowId, dataDir, ...readOutput(result) };
  } finally {
    await real.close();
  }
}

export function readJsonLines<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

export function readOutput(result: CompletedSync): { report: RunReport; assets: Asset[]; findings: Finding[] } {
  return {
    report: JSON.parse(readFileSync(result.reportFile, 'utf8')) as RunReport,
    assets: readJsonLines<Asset>(path.join(result.outputDir, 'assets.jsonl')),
    findings: readJsonLines<Finding>(path.join(result.outputDir, 'findings.jsonl')),
  };
}

/** The connector's current state without the fields that say when the connector looked. */
export function stateWithoutSeenTimes(run: Pick<SyncRun, 'assets' | 'findings'>): unknown {
  return {
    assets: run.assets.map(({ firstSeenAt: _f, lastSeenAt: _l, ...rest }) => rest),
    findings: run.findings.map(({ lastSeenAt: _l, ...rest }) => rest),
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
 * The password appears nowhere: not in the workflow's full history (payloads decoded), not in any
 * file under the data directory, not in what the workers logged.
 */
export async function expectNoSecretAnywhere(env: TestEnv, password: string, workflowId: string, dataDir: string, extraLogs = ''): Promise<void> {
  // Every execution of the run: continue-as-new chains them through continuedExecutionRunId.
  let runId: string | undefined;
  do {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const historyText = historyAsText(history);
    expect(historyText.includes('qualysSync')).toBe(true); // the history is really there and readable
    expect(historyText.includes(password)).toBe(false);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  } while (runId);
  expect(filesUnder(dataDir).filter((f) => readFileSync(f, 'utf8').includes(password))).toEqual([]);
  expect(workerLogs().includes(password)).toBe(false);
  expect(extraLogs.includes(password)).toBe(false);
}
