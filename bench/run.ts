import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { generateEstate, startSimulator, type SimulatorOptions, type SimulatorStats } from '../simulator';
import { projectRoot } from '../src/config/project-paths';
import type { RunReport } from '../src/store/types';
import { createFreshDatabase } from '../src/store/create-database';
import { ensureEmbeddedPostgres, type EmbeddedPostgres } from '../src/store/embedded-server';
import { Pool } from 'pg';
import { pageConcurrency } from '../src/workflows/sync-input';
import { completedSync } from '../src/workflows/sync-result';
import { startDevServer, type RunningDevServer } from '../temporal/dev-server';
import { measureCpu } from './cpu';
import { peakRssMiB } from './lanes';
import type { PlainLoopResult } from './plain-loop';
import { renderChartSvg, renderMarkdown, type BenchResult, type Figure } from './report';

const USAGE = `npm run bench -- [--quick] [--hosts N] [--small-hosts N] [--page-size N]

Measures the connector against the simulator (Standard tier: 2 calls at once, 300 per hour per API) and
reports each figure as a ratio measured side by side in this one run. --quick: a small estate, about a
minute. Writes bench/results/latest.{json,md,svg}.`;

interface RunMeasure {
  wallMs: number;
  /** Seconds each kind of step ran (activity started → completed, summed over pages). */
  stepSeconds: Record<string, number>;
  fetchedAt: number[];
  uploadedAt: number[];
  report: RunReport;
  peakRssMiB?: number;
  historyEvents: number;
  historyBytes: number;
  stats: SimulatorStats;
}

const SEED = 42;
const DETECTIONS_PER_HOST = 30;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      hosts: { type: 'string' },
      'small-hosts': { type: 'string' },
      'page-size': { type: 'string', default: '1000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const hosts = Number(values.hosts ?? (values.quick ? 2_000 : 100_000));
  const smallHosts = Number(values['small-hosts'] ?? (values.quick ? 1_000 : Math.max(1, Math.round(hosts / 10))));
  const pageSize = Number(values['page-size']);
  // Latency grows with the response: a base per call plus time per KiB, as Qualys streams big pages
  // (0.2 ms per KiB ≈ 5 MB/s: a 1 000-host detection page of ~24 MB takes ~5 s).
  const latency = { latencyMs: 150, latencyPerKbMs: 0.2 };
  const simulatorOptions = (n: number): SimulatorOptions => ({
    hosts: n,
    seed: SEED,
    detectionsPerHost: DETECTIONS_PER_HOST,
    concurrencyLimit: 2,
    rateLimit: { calls: 300, windowSeconds: 3600 },
    ...latency,
  });
  const flags = `${values.quick ? ' --quick' : ''}${values.hosts ? ` --hosts ${hosts}` : ''}`;
  const command = flags ? `npm run bench --${flags}` : 'npm run bench';
  log(`estate ${hosts} hosts (small ${smallHosts}), ${DETECTIONS_PER_HOST} detections/host, page size ${pageSize}`);

  const server = await startDevServer({ uiPort: false, logLevel: 'error', stdio: 'ignore' });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  try {
    log('Temporal run, small estate');
    const small = await temporalRun(server, client, simulatorOptions(smallHosts), pageSize);
    log('Temporal run, full estate');
    const full = await temporalRun(server, client, simulatorOptions(hosts), pageSize);
    log('plain loop, full estate');
    const plain = await plainRun(simulatorOptions(hosts), pageSize);
    log('CPU: parse + map vs bare parse');
    const cpu = await cpuRun(simulatorOptions(Math.min(hosts, 1000)));

    const figures = computeFigures({ hosts, smallHosts, pageSize, small, full, plain, cpu });
    const result: BenchResult = {
      date: new Date().toISOString(),
      command,
      machine: {
        cpus: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
      },
      estate: {
        hosts,
        smallHosts,
        detectionsPerHost: DETECTIONS_PER_HOST,
        pageSize,
        latency: `${latency.latencyMs} ms + ${latency.latencyPerKbMs} ms per KiB of response`,
        limits: 'Standard tier: 2 concurrent calls, 300 calls per hour per API',
      },
      figures,
      timelines: {
        temporal: { label: 'Temporal run', fetchedAt: full.fetchedAt, uploadedAt: full.uploadedAt, wallMs: full.wallMs },
        plain: { label: 'plain loop', fetchedAt: plain.fetchedAt, uploadedAt: plain.uploadedAt, wallMs: plain.wallMs },
      },
    };
    const outDir = path.join(projectRoot(), 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(path.join(outDir, 'latest.md'), renderMarkdown(result));
    writeFileSync(path.join(outDir, 'latest.svg'), renderChartSvg([result.timelines.temporal, result.timelines.plain], full.report.totals.pages));
    console.log(`\n${renderMarkdown(result)}`);
    log(`written to ${path.relative(process.cwd(), outDir)}/latest.{json,md,svg}`);
  } finally {
    await connection.close();
    await server.stop();
    if (postgres) {
      await postgres.server.stop();
      rmSync(postgres.dir, { recursive: true, force: true });
    }
  }
}

async function temporalRun(server: RunningDevServer, client: Client, options: SimulatorOptions, pageSize: number): Promise<RunMeasure> {
  const sim = await startSimulator(options);
  const database = await benchDatabase();
  const databaseUrl = database.url;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'qualys-bench-'));
  const taskQueue = `bench-${randomUUID()}`;
  const worker = spawn(process.execPath, [path.join(projectRoot(), 'lib', 'src', 'worker', 'main.js')], {
    env: {
      PATH: process.env.PATH,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      QUALYS_API_URL: sim.url,
      QUALYS_USERNAME: sim.username,
      QUALYS_PASSWORD: sim.password,
      QUALYS_CONNECTOR_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      QUALYS_WORKER_LOG_LEVEL: 'INFO', // the bench waits for its "worker polling" line
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      worker.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('worker polling')) resolve();
      });
      worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) before polling`)));
    });
    const started = performance.now();
    const handle = await client.workflow.start('qualysSync', { taskQueue, workflowId: `bench-${taskQueue}`, args: [{ connection: 'default', pageSize }] });
    const result = completedSync(await handle.result());
    const wallMs = performance.now() - started;
    const peak = worker.pid ? peakRssMiB(worker.pid) : undefined;
    const history = await historyOf(client, handle);
    return {
      wallMs,
      ...history,
      report: await readReport(databaseUrl, result.runKey),
      peakRssMiB: peak,
      stats: sim.stats(),
    };
  } finally {
    worker.kill('SIGTERM');
    await exited;
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    await database.drop();
  }
}

let postgres: { server: EmbeddedPostgres; dir: string } | undefined;

/** One embedded PostgreSQL for the whole bench (a fresh database per run), removed at the end. */
async function benchPostgres(): Promise<EmbeddedPostgres> {
  if (!postgres) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-bench-pg-'));
    chmodSync(dir, 0o755); // the server runs as the postgres OS user when the bench runs as root
    postgres = { server: await ensureEmbeddedPostgres(dir), dir };
  }
  return postgres.server;
}

/** A database of its own for one run; the run's data is dropped with it afterwards (gigabytes at 100 000 hosts). */
async function benchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const url = await createFreshDatabase((await benchPostgres()).url, 'bench');
  return {
    url,
    drop: async () => {
      const admin = new URL(url);
      const name = admin.pathname.slice(1);
      admin.pathname = '/postgres';
      const pool = new Pool({ connectionString: admin.toString() });
      try {
        await pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await pool.end();
      }
    },
  };
}

async function readReport(databaseUrl: string, runKey: string): Promise<RunReport> {
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    const { rows } = await pool.query<{ report: RunReport }>('SELECT report FROM runs WHERE run_key = $1', [runKey]);
    if (!rows[0]) throw new Error(`no report for run ${runKey}`);
    return rows[0].report;
  } finally {
    await pool.end();
  }
}

/** Page completion times and the size of the run's history, over every execution (continue-as-new). */
async function historyOf(
  client: Client,
  handle: WorkflowHandle,
): Promise<{ fetchedAt: number[]; uploadedAt: number[]; historyEvents: number; historyBytes: number; stepSeconds: Record<string, number> }> {
  const stepSeconds: Record<string, number> = {};
  const fetchedAt: number[] = [];
  const uploadedAt: number[] = [];
  let historyEvents = 0;
  let historyBytes = 0;
  let runId: string | undefined;
  let origin: number | undefined;
  const executions = [];
  do {
    const h = client.workflow.getHandle(handle.workflowId, runId);
    const description = await h.describe();
    historyEvents += description.historyLength;
    historyBytes += Number(description.raw.workflowExecutionInfo?.historySizeBytes ?? 0);
    const events = (await h.fetchHistory()).events ?? [];
    executions.unshift(events);
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  } while (runId);
  for (const events of executions) {
    origin ??= tsToMs(events[0]?.eventTime);
    const typeOf = new Map(events.map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name]));
    const startedAt = new Map(events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => [String(e.eventId), tsToMs(e.eventTime)]));
    for (const e of events) {
      const done = e.activityTaskCompletedEventAttributes;
      if (!done) continue;
      const at = tsToMs(e.eventTime) - origin;
      const type = typeOf.get(String(done.scheduledEventId));
      const began = startedAt.get(String(done.startedEventId));
      if (type && began !== undefined) stepSeconds[type] = (stepSeconds[type] ?? 0) + (tsToMs(e.eventTime) - began) / 1000;
      if (type === 'fetchDetections') fetchedAt.push(at);
      if (type === 'uploadPage') uploadedAt.push(at);
    }
  }
  return { fetchedAt, uploadedAt, historyEvents, historyBytes, stepSeconds };
}

async function plainRun(options: SimulatorOptions, pageSize: number): Promise<PlainLoopResult & { stats: SimulatorStats }> {
  const sim = await startSimulator(options);
  const database = await benchDatabase();
  try {
    const config = JSON.stringify({ apiUrl: sim.url, username: sim.username, password: sim.password, databaseUrl: database.url, pageSize });
    const child = spawn(process.execPath, [path.join(projectRoot(), 'lib', 'bench', 'plain-loop.js'), config], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`the plain loop failed (exit ${code})`);
    return { ...(JSON.parse(out.trim().split('\n').pop() ?? '{}') as PlainLoopResult), stats: sim.stats() };
  } finally {
    await sim.close();
    await database.drop();
  }
}

async function cpuRun(options: SimulatorOptions): Promise<ReturnType<typeof measureCpu>> {
  const sim = await startSimulator({ ...options, latencyMs: 0, latencyPerKbMs: 0 });
  try {
    const response = await fetch(`${sim.url}/api/2.0/fo/asset/host/vm/detection/`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}`,
        'X-Requested-With': 'qualys-connector-bench',
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'action=list&truncation_limit=1000&status=New,Active,Re-Opened,Fixed&show_results=0',
    });
    const xml = await response.text();
    const truth = sim.truth();
    const knowledgeBase = new Map(Object.entries(truth.knowledgeBase).map(([qid, entry]) => [qid, { cves: entry.cves }]));
    return measureCpu(xml, knowledgeBase);
  } finally {
    await sim.close();
  }
}

interface FigureInputs {
  hosts: number;
  smallHosts: number;
  pageSize: number;
  small: RunMeasure;
  full: RunMeasure;
  plain: PlainLoopResult & { stats: SimulatorStats };
  cpu: ReturnType<typeof measureCpu>;
}

function computeFigures(i: FigureInputs): Figure[] {
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const overhead = i.full.wallMs / i.plain.wallMs;

  // The fewest calls the estate needs at this page size (≤ 1000 hosts per page: one call per API per page):
  // 3 credential probes + the host ID set + 3 per page + the distinct QIDs in batches of 500.
  const truth = generateEstate({ hosts: i.hosts, seed: SEED, detectionsPerHost: DETECTIONS_PER_HOST });
  const distinctQids = new Set(truth.hosts.flatMap((h) => h.detections.map((d) => d.qid))).size;
  const pages = Math.ceil(i.hosts / i.pageSize);
  const minimumCalls = 3 + 1 + 3 * pages + Math.ceil(distinctQids / 500);
  const calls = i.full.report.apiCalls.total;

  // Lower bounds on wall time from the simulated server time of the calls actually made.
  const servedByEndpoint = new Map<string, number>();
  for (const r of i.full.stats.requests) servedByEndpoint.set(r.endpoint, (servedByEndpoint.get(r.endpoint) ?? 0) + (r.servedMs ?? 0));
  const served = [...servedByEndpoint.values()].reduce((a, b) => a + b, 0);
  const lanes = pageConcurrency(undefined, 2);
  const literalBound = served / 2;
  const perApiBound = Math.max(...servedByEndpoint.values()) / lanes;

  const perThousand = (n: number, hosts: number): number => (n / hosts) * 1000;
  const eventsSmall = perThousand(i.small.historyEvents, i.smallHosts);
  const eventsFull = perThousand(i.full.historyEvents, i.hosts);
  const bytesSmall = perThousand(i.small.historyBytes, i.smallHosts);
  const bytesFull = perThousand(i.full.historyBytes, i.hosts);
  const rssSmall = i.small.peakRssMiB ?? NaN;
  const rssFull = i.full.peakRssMiB ?? NaN;
  const cores = 1;

  return [
    { name: 'Durability overhead: Temporal run vs plain loop, wall time', value: `${s(i.full.wallMs)} vs ${s(i.plain.wallMs)}`, ratio: overhead, target: '≤ 1.15', met: overhead <= 1.15 },
    { name: 'Qualys calls made ÷ the minimum the estate needs', value: `${calls} / ${minimumCalls}`, ratio: calls / minimumCalls, target: '1.00', met: calls === minimumCalls },
    {
      name: 'Lower bound ÷ wall time, bound = the busiest API\'s server time ÷ the calls at once the connector allows itself per API (limit 2 − 1 kept free)',
      value: `${s(perApiBound)} / ${s(i.full.wallMs)}`,
      ratio: perApiBound / i.full.wallMs,
      target: '≥ 0.90',
      met: perApiBound / i.full.wallMs >= 0.9,
    },
    {
      name: 'Lower bound ÷ wall time, bound = server time of all calls ÷ 2 (the whole subscription limit, no slot kept free)',
      value: `${s(literalBound)} / ${s(i.full.wallMs)}`,
      ratio: literalBound / i.full.wallMs,
      target: '≥ 0.90',
      met: literalBound / i.full.wallMs >= 0.9,
    },
    { name: `Worker peak RSS, ${i.hosts.toLocaleString('en-US')} vs ${i.smallHosts.toLocaleString('en-US')} hosts`, value: `${rssFull.toFixed(0)} MiB vs ${rssSmall.toFixed(0)} MiB`, ratio: rssFull / rssSmall, target: '≤ 1.3', met: rssFull / rssSmall <= 1.3 },
    { name: `Worker peak RSS at ${i.hosts.toLocaleString('en-US')} hosts`, value: `${rssFull.toFixed(0)} MiB`, target: '≤ 400 MB', met: rssFull * 1.048576 <= 400 },
    { name: 'Plain loop peak RSS (for comparison)', value: `${(i.plain.peakRssMiB ?? NaN).toFixed(0)} MiB` },
    {
      name: `CPU: parse + map vs bare fast-xml-parser parse, detections/s per core (one ${Math.round(i.cpu.pageBytes / 1024)} KiB page of ${i.cpu.detectionsPerPage} detections)`,
      value: `${i.cpu.parseAndMapPerSecond.toLocaleString('en-US')} vs ${i.cpu.bareParsePerSecond.toLocaleString('en-US')}`,
      ratio: i.cpu.parseAndMapPerSecond / cores / i.cpu.bareParsePerSecond,
    },
    {
      name: `History events per 1 000 hosts, ${i.hosts.toLocaleString('en-US')} vs ${i.smallHosts.toLocaleString('en-US')} hosts`,
      value: `${eventsFull.toFixed(0)} vs ${eventsSmall.toFixed(0)}`,
      ratio: eventsFull / eventsSmall,
      target: 'flat (≈ 1)',
    },
    {
      name: `History bytes per 1 000 hosts, ${i.hosts.toLocaleString('en-US')} vs ${i.smallHosts.toLocaleString('en-US')} hosts`,
      value: `${(bytesFull / 1024).toFixed(1)} KiB vs ${(bytesSmall / 1024).toFixed(1)} KiB`,
      ratio: bytesFull / bytesSmall,
      target: 'flat (≈ 1)',
    },
    {
      name: 'Where the Temporal run spent its time (seconds per step, summed over pages)',
      value: Object.entries(i.full.stepSeconds)
        .sort((a, b) => b[1] - a[1])
        .map(([step, seconds]) => `${step} ${seconds.toFixed(0)}`)
        .join(', '),
    },
    {
      name: 'Simulated Qualys server time of the calls (all APIs, then Host List Detection alone)',
      value: `${s(served)}, ${s(servedByEndpoint.get('hostDetection') ?? 0)}`,
    },
    {
      name: 'Run output (Temporal run)',
      value: `${i.full.report.totals.assets} assets, ${i.full.report.totals.findings} findings from ${i.full.report.totals.detections} detections, ${i.full.report.totals.pages} pages, continued as new ${i.full.report.continuedAsNew}×`,
    },
  ];
}

function log(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
