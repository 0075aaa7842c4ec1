import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Pool } from 'pg';
import { startSimulator, type GroundTruth } from '../simulator';
import { ConnectionProfiles } from '../src/config/connections';
import { createFreshDatabase } from '../src/store/create-database';
import { ensureEmbeddedPostgres } from '../src/store/embedded-server';
import { createConnectorWorker } from '../src/worker/create-worker';
import { openActivityDeps } from '../src/worker/activity-deps';
import { completedSync, type CompletedSync } from '../src/workflows/sync-result';
import { startDevServer } from '../temporal/dev-server';

// `npm run bench:incremental`: a full run, then about 5 % of the estate changes, then an incremental
// run — side by side in one run: Qualys calls and wall time of the incremental run against the full
// one, and the store checked against the simulator's truth after both.

const USAGE = `npm run bench:incremental -- [--hosts N] [--page-size N]
Default 100 000 hosts (Standard tier limits, the bench's latency model); --hosts 10000 for a shorter run.`;

const OPEN = new Set(['New', 'Active', 'Re-Opened']);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { hosts: { type: 'string' }, 'page-size': { type: 'string', default: '1000' }, help: { type: 'boolean', default: false } } });
  if (values.help) return console.log(USAGE);
  const hosts = Number(values.hosts ?? 100_000);
  const pageSize = Number(values['page-size']);
  const sim = await startSimulator({
    hosts,
    seed: 42,
    detectionsPerHost: 30,
    concurrencyLimit: 2,
    rateLimit: { calls: 300, windowSeconds: 3600 },
    latencyMs: 150,
    latencyPerKbMs: 0.2,
  });
  const pgDir = mkdtempSync(path.join(os.tmpdir(), 'qualys-bench-pg-'));
  chmodSync(pgDir, 0o755);
  const postgres = await ensureEmbeddedPostgres(pgDir);
  const server = await startDevServer({ uiPort: false, logLevel: 'error', stdio: 'ignore' });
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const databaseUrl = await createFreshDatabase(postgres.url, 'bench');
  const deps = await openActivityDeps({
    databaseUrl,
    profiles: ConnectionProfiles.of({ name: 'default', apiUrl: sim.url, username: sim.username, password: sim.password }),
  });
  const taskQueue = `bench-incremental-${randomUUID()}`;
  const worker = await createConnectorWorker({ connection: nativeConnection, namespace: server.namespace, taskQueue, deps });
  const running = worker.run();
  try {
    const run = async (mode: 'full' | 'auto'): Promise<{ result: CompletedSync; wallMs: number; calls: number }> => {
      sim.resetStats();
      const started = performance.now();
      const handle = await client.workflow.start('qualysSync', { taskQueue, workflowId: `bench-${randomUUID()}`, args: [{ connection: 'default', pageSize, mode }] });
      const result = completedSync(await handle.result());
      const wallMs = performance.now() - started;
      const calls = Object.values(sim.stats().calls).reduce((a, b) => a + b, 0);
      return { result, wallMs, calls };
    };
    log(`${hosts} hosts: full run`);
    const full = await run('full');
    const fullCheck = await compareWithTruth(databaseUrl, sim.truth());
    const advanced = sim.advance({ changedShare: 0.04, addedShare: 0.005, removedShare: 0.005 });
    log(`advance: ${advanced.changed.length} changed, ${advanced.added.length} added, ${advanced.removed.length} removed, ${advanced.qidsGainingCve.length} QIDs gained a CVE`);
    log('incremental run');
    const incremental = await run('auto');
    const incrementalCheck = await compareWithTruth(databaseUrl, sim.truth());
    const ratio = (a: number, b: number): string => (a / b).toFixed(3);
    const lines = [
      `## Incremental vs full run (${hosts} hosts, ${new Date().toISOString()}, \`npm run bench:incremental -- --hosts ${hosts}\`)`,
      '',
      `Change between the runs: ${advanced.changed.length} hosts changed, ${advanced.added.length} added, ${advanced.removed.length} removed (${(((advanced.changed.length + advanced.added.length + advanced.removed.length) / hosts) * 100).toFixed(1)} %), ${advanced.qidsGainingCve.length} QIDs gained a CVE.`,
      '',
      '| | full | incremental | ratio | target |',
      '| --- | --- | --- | --- | --- |',
      `| mode | ${full.result.mode} | ${incremental.result.mode} | | |`,
      `| hosts asked for | ${full.result.totals.hostsAsked} | ${incremental.result.totals.hostsAsked} | ${ratio(incremental.result.totals.hostsAsked ?? 0, full.result.totals.hostsAsked ?? 1)} | |`,
      `| Qualys calls | ${full.calls} | ${incremental.calls} | ${ratio(incremental.calls, full.calls)} | ≤ 0.10 ${incremental.calls / full.calls <= 0.1 ? 'met' : 'MISSED'} |`,
      `| wall time (s) | ${(full.wallMs / 1000).toFixed(1)} | ${(incremental.wallMs / 1000).toFixed(1)} | ${ratio(incremental.wallMs, full.wallMs)} | ≤ 0.15 ${incremental.wallMs / full.wallMs <= 0.15 ? 'met' : 'MISSED'} |`,
      `| store equals the truth | ${fullCheck} | ${incrementalCheck} | | |`,
    ];
    console.log(`\n${lines.join('\n')}\n`);
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await deps.close();
    await nativeConnection.close();
    await connection.close();
    await server.stop();
    await sim.close();
    await postgres.stop();
    rmSync(pgDir, { recursive: true, force: true });
  }
}

/** Active assets are exactly the truth's hosts, and each finding the truth implies has its status. */
async function compareWithTruth(databaseUrl: string, truth: GroundTruth): Promise<string> {
  const expected = new Map<string, 'open' | 'fixed'>();
  for (const host of truth.hosts) {
    for (const d of host.detections) {
      for (const cve of truth.knowledgeBase[d.qid]?.cves ?? []) {
        const key = `qualys:default:host:${host.id}:cve:${cve}`;
        if (OPEN.has(d.status)) expected.set(key, 'open');
        else if (!expected.has(key)) expected.set(key, 'fixed');
      }
    }
  }
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    const assets = await pool.query<{ host_id: string }>(`SELECT host_id FROM assets WHERE connection = 'default' AND status = 'active'`);
    const active = new Set(assets.rows.map((r) => r.host_id));
    const truthHosts = new Set(truth.hosts.map((h) => h.id));
    let mismatches = [...truthHosts].filter((id) => !active.has(id)).length + [...active].filter((id) => !truthHosts.has(id)).length;
    const findings = await pool.query<{ key: string; status: 'open' | 'fixed' }>(`SELECT key, status FROM findings WHERE connection = 'default'`);
    const stored = new Map(findings.rows.map((r) => [r.key, r.status]));
    for (const [key, status] of expected) if (stored.get(key) !== status) mismatches += 1;
    // Every open finding in the store is one the truth implies.
    for (const [key, status] of stored) if (status === 'open' && expected.get(key) !== 'open') mismatches += 1;
    return mismatches === 0 ? 'yes' : `NO (${mismatches} mismatches)`;
  } finally {
    await pool.end();
  }
}

function log(message: string): void {
  console.error(`[bench:incremental ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
