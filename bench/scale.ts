import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { Pool } from 'pg';
import { startSimulator } from '../simulator';
import { createFreshDatabase } from '../src/store/create-database';
import { ensureEmbeddedPostgres } from '../src/store/embedded-server';
import { completedSync, type CompletedSync } from '../src/workflows/sync-result';
import { startDevServer } from '../temporal/dev-server';
import { peakRssMiB } from './lanes';
import { startWorkerProcess } from './worker-process';

// `npm run bench:scale`: one connection at a large estate — a full run, the estate advances one
// generation, an incremental run, a full run — and what grows with it: the worker's peak memory, history
// per 1 000 hosts, each commit's time and what it changed, the store's size, Qualys calls against the
// fewest the runs needed. The worker runs as deployed, in a process of its own, so its peak memory is its own.

const USAGE = `npm run bench:scale -- [--hosts N] [--detections-per-host N] [--page-size N]
Default 1 000 000 hosts with 3 detections per host on average. Qualys answers without added latency and
with its rate limit lifted (at the Standard tier's 300 calls an hour per API, 1 000 detection pages take
Qualys itself over 3 hours); the concurrency limit stays the Standard tier's 2. The worker runs in a process of its own (its peak
RSS is reported apart from this process's, which holds the simulator).`;

interface Measured {
  label: string;
  result: CompletedSync;
  wallSeconds: number;
  commitSeconds: number;
  /** From the run's last Qualys call to its end: what a run does after Qualys has answered. */
  tailSeconds: number;
  /** What ran in that time: seconds of each kind of step within it, and the seconds no step ran. */
  tail: { byStep: Record<string, number>; idleSeconds: number };
  calls: number;
  minimumCalls: number;
  historyEvents: number;
  historyBytes: number;
  databaseMiB: number;
  /** The worker's peak RSS from its start to this run's end (VmHWM: it only grows). */
  workerPeakRssMiB: number | undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '1000000' },
      'detections-per-host': { type: 'string', default: '3' },
      'page-size': { type: 'string', default: '1000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  const hosts = Number(values.hosts);
  const detectionsPerHost = Number(values['detections-per-host']);
  const pageSize = Number(values['page-size']);
  const sim = await startSimulator({ hosts, seed: 42, detectionsPerHost, concurrencyLimit: 2, rateLimit: { calls: 1_000_000, windowSeconds: 3600 } });
  const pgDir = mkdtempSync(path.join(os.tmpdir(), 'qualys-bench-scale-'));
  chmodSync(pgDir, 0o755); // the server runs as the postgres OS user when the bench runs as root
  const postgres = await ensureEmbeddedPostgres(pgDir);
  const server = await startDevServer({ uiPort: false, logLevel: 'error', stdio: 'ignore' });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const databaseUrl = await createFreshDatabase(postgres.url, 'bench');
  const pool = new Pool({ connectionString: databaseUrl });
  const taskQueue = `bench-scale-${randomUUID()}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'qualys-bench-scale-worker-'));
  const worker = await startWorkerProcess({ temporalAddress: server.address, taskQueue, qualys: sim, dataDir, databaseUrl });
  const measured: Measured[] = [];
  try {
    const run = async (label: string, mode: 'full' | 'incremental'): Promise<void> => {
      log(`${label}`);
      sim.resetStats();
      const started = performance.now();
      const handle = await client.workflow.start('qualysSync', { taskQueue, workflowId: `bench-scale-${randomUUID()}`, args: [{ connection: 'default', pageSize, mode }] });
      const result = completedSync(await handle.result());
      const endedAt = Date.now();
      const wallSeconds = (performance.now() - started) / 1000;
      const lastCallAt = sim.stats().requests.reduce((last, r) => Math.max(last, r.at), 0);
      const calls = Object.values(sim.stats().calls).reduce((a, b) => a + b, 0);
      const history = await historyOf(client, handle);
      const size = await pool.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');
      measured.push({
        label,
        result,
        wallSeconds,
        commitSeconds: history.commitSeconds,
        tailSeconds: (endedAt - lastCallAt) / 1000,
        tail: within(history.steps, lastCallAt, endedAt),
        calls,
        minimumCalls: minimumCalls(result, mode, measured.length === 0),
        historyEvents: history.events,
        historyBytes: history.bytes,
        databaseMiB: Number(size.rows[0].bytes) / 2 ** 20,
        workerPeakRssMiB: worker.peakRssMiB(),
      });
      log(`${label}: ${wallSeconds.toFixed(1)} s, commit ${history.commitSeconds.toFixed(1)} s, changes ${JSON.stringify(result.changes)}`);
    };
    await run('full run', 'full');
    const advanced = sim.advance();
    log(`advance: ${advanced.changed.length} changed, ${advanced.added.length} added, ${advanced.removed.length} removed`);
    await run('incremental run', 'incremental');
    await run('full run again', 'full');
    console.log(`\n${table(hosts, detectionsPerHost, pageSize, measured, worker.peakRssMiB()).join('\n')}\n`);
  } finally {
    await worker.stop();
    await pool.end();
    await connection.close();
    await server.stop();
    await sim.close();
    await postgres.stop();
    rmSync(pgDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The fewest calls the run needed: 3 credential probes, the KnowledgeBase refresh (runs after the first),
 * the host ID set (and the changed hosts, incremental), one call per API per page, and the QIDs new to
 * the cache in batches of 500 (each asked once, in whichever KnowledgeBase round: `knowledgeBaseLookups`
 * counts them all; a round that fills a batch only in part is what can add a call).
 */
function minimumCalls(result: CompletedSync, mode: 'full' | 'incremental', first: boolean): number {
  return 3 + (first ? 0 : 1) + (mode === 'incremental' ? 2 : 1) + 3 * result.totals.pages + Math.ceil(result.totals.knowledgeBaseLookups / 500);
}

interface StepRan {
  type: string;
  startedMs: number;
  endedMs: number;
}

/** Seconds of each kind of step between `fromMs` and `toMs` (steps side by side count each), and the seconds no step ran. */
function within(steps: readonly StepRan[], fromMs: number, toMs: number): { byStep: Record<string, number>; idleSeconds: number } {
  const byStep: Record<string, number> = {};
  const clipped = steps
    .map((s) => ({ type: s.type, from: Math.max(s.startedMs, fromMs), to: Math.min(s.endedMs, toMs) }))
    .filter((s) => s.to > s.from)
    .sort((a, b) => a.from - b.from);
  let busyMs = 0;
  let reached = fromMs;
  for (const s of clipped) {
    byStep[s.type] = (byStep[s.type] ?? 0) + (s.to - s.from) / 1000;
    busyMs += Math.max(0, s.to - Math.max(reached, s.from));
    reached = Math.max(reached, s.to);
  }
  return { byStep, idleSeconds: (toMs - fromMs - busyMs) / 1000 };
}

/** History events and bytes over the run's executions, how long its commit step ran, and when each step ran. */
async function historyOf(client: Client, handle: WorkflowHandle): Promise<{ events: number; bytes: number; commitSeconds: number; steps: StepRan[] }> {
  let events = 0;
  let bytes = 0;
  let commitSeconds = 0;
  const steps: StepRan[] = [];
  let runId: string | undefined;
  do {
    const h = client.workflow.getHandle(handle.workflowId, runId);
    const description = await h.describe();
    events += description.historyLength;
    bytes += Number(description.raw.workflowExecutionInfo?.historySizeBytes ?? 0);
    const history = (await h.fetchHistory()).events ?? [];
    const commits = new Set(
      history.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'commitRun').map((e) => String(e.eventId)),
    );
    const typeOf = new Map(
      history.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [[String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '']] : [])),
    );
    const startedAt = new Map<string, number>();
    for (const e of history) {
      const started = e.activityTaskStartedEventAttributes;
      if (started) startedAt.set(String(started.scheduledEventId), tsToMs(e.eventTime));
      const completed = e.activityTaskCompletedEventAttributes;
      const from = completed ? startedAt.get(String(completed.scheduledEventId)) : undefined;
      if (completed && from !== undefined) {
        const type = typeOf.get(String(completed.scheduledEventId)) ?? '';
        steps.push({ type, startedMs: from, endedMs: tsToMs(e.eventTime) });
        if (commits.has(String(completed.scheduledEventId))) commitSeconds += (tsToMs(e.eventTime) - from) / 1000;
      }
    }
    runId = history[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  } while (runId);
  return { events, bytes, commitSeconds, steps };
}

function table(hosts: number, detectionsPerHost: number, pageSize: number, runs: Measured[], workerPeakRssMiB: number | undefined): string[] {
  const n = (v: number): string => v.toLocaleString('en-US');
  const perThousand = (v: number): string => (v / (hosts / 1000)).toFixed(1);
  const changed = (r: CompletedSync): string =>
    Object.entries(r.changes)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(', ') || 'nothing';
  return [
    `## Scale (${n(hosts)} hosts, ${detectionsPerHost} detections per host on average, ${new Date().toISOString()}, \`npm run bench:scale -- --hosts ${hosts} --detections-per-host ${detectionsPerHost} --page-size ${pageSize}\`)`,
    '',
    '| | ' + runs.map((r) => r.label).join(' | ') + ' |',
    '| --- | ' + runs.map(() => '---').join(' | ') + ' |',
    `| mode | ${runs.map((r) => r.result.mode).join(' | ')} |`,
    `| hosts asked for | ${runs.map((r) => n(r.result.totals.hostsAsked ?? 0)).join(' | ')} |`,
    `| wall time (s) | ${runs.map((r) => r.wallSeconds.toFixed(1)).join(' | ')} |`,
    `| after the last Qualys call (s) | ${runs.map((r) => `${r.tailSeconds.toFixed(1)} (${((r.tailSeconds / r.wallSeconds) * 100).toFixed(0)} %)`).join(' | ')} |`,
    `| … of which steps ran (s) | ${runs.map((r) => tailSteps(r.tail)).join(' | ')} |`,
    `| commit (s) | ${runs.map((r) => r.commitSeconds.toFixed(1)).join(' | ')} |`,
    `| what the commit changed | ${runs.map((r) => changed(r.result)).join(' | ')} |`,
    `| Qualys calls ÷ the fewest the run needed | ${runs.map((r) => `${n(r.calls)} / ${n(r.minimumCalls)} = ${(r.calls / r.minimumCalls).toFixed(2)}`).join(' | ')} |`,
    `| history events per 1,000 hosts | ${runs.map((r) => perThousand(r.historyEvents)).join(' | ')} |`,
    `| history KiB per 1,000 hosts | ${runs.map((r) => perThousand(r.historyBytes / 1024)).join(' | ')} |`,
    `| PostgreSQL database size after (MiB) | ${runs.map((r) => r.databaseMiB.toFixed(0)).join(' | ')} |`,
    `| worker peak RSS from its start to the run's end (MiB) | ${runs.map((r) => r.workerPeakRssMiB?.toFixed(0) ?? 'unknown').join(' | ')} |`,
    '',
    `Worker peak RSS: ${workerPeakRssMiB?.toFixed(0)} MiB (its own process, as deployed); the bench's process, which holds the simulator: ${peakRssMiB()?.toFixed(0)} MiB.`,
  ];
}

/** The tail's steps, e.g. `commitRun 3.1, uploadPage 0.4 (×2 side by side counts twice); no step 0.3`. */
function tailSteps(tail: Measured['tail']): string {
  const steps = Object.entries(tail.byStep)
    .sort(([, a], [, b]) => b - a)
    .map(([type, seconds]) => `${type} ${seconds.toFixed(1)}`);
  return [...steps, `no step ${tail.idleSeconds.toFixed(1)}`].join(', ');
}

function log(message: string): void {
  console.error(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
