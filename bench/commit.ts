import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Estate, advanceEstate, type TruthHost } from '../simulator';
import type { PageRange, RunRef } from '../src/contracts/run';
import { cutIntoPages } from '../src/activities/run-plan';
import { mapAsset, mapFindings, type QidCves } from '../src/model/map-qualys';
import { createFreshDatabase } from '../src/store/create-database';
import { ensureEmbeddedPostgres } from '../src/store/embedded-server';
import { openStore } from '../src/store/open-store';
import { DEFAULT_MAX_SHRINK_SHARE, DEFAULT_REMOVED_ASSET_RETENTION_DAYS } from '../src/workflows/sync-input';
import { peakRssMiB } from './lanes';

const USAGE = `npm run bench:commit -- [--hosts N] [--detections-per-host N]

The store's side of a run at scale, without Qualys or Temporal: a simulated estate (default 100 000
hosts, 30 detections per host) is mapped and uploaded page by page (COPY), then committed — once into
an empty store, then again after the estate advanced one generation (about 5 % of hosts changed), the
steady state of a scheduled connector. Each page is applied as a run applies it: compared with the
connection's current state, only what it changes staged; the commit applies that change set. Reports each step's time, this process's peak RSS and
PostgreSQL's own memory (the sum of its processes' proportional set sizes, sampled).`;

const CONNECTION = 'bench';
const PAGE_SIZE = 1000;

/** The connector's Qualys records for a host of the simulated estate (what the client would parse). */
function recordsOf(host: TruthHost) {
  return {
    host: {
      id: host.id,
      assetId: host.assetId,
      ip: host.ip,
      ipv6: host.ipv6,
      dnsData: { hostname: host.dnsHostname, fqdn: host.fqdn },
      netbios: host.netbios,
      os: host.os,
      trackingMethod: host.trackingMethod,
      assetCriticalityScore: host.assetCriticalityScore,
      truriskScore: host.truriskScore,
    },
    hostAsset: {
      // The QPS HostAsset id is the host's ASSET_ID; the benchmark's hosts all have a HostAsset.
      id: host.assetId ?? host.id,
      qwebHostId: host.id,
      fqdn: host.fqdn,
      interfaces: host.interfaces.map((i) => ({ interfaceName: i.name, macAddress: i.mac, address: i.address, gatewayAddress: i.gateway })),
    },
    detections: host.detections,
  };
}

/** PostgreSQL's memory: the sum of its processes' PSS, and the shared memory (shared buffers, WAL buffers) in it, MiB. */
interface PostgresMemory {
  pss: number;
  shared: number;
}

/**
 * The memory of the bench's own server now: its postmaster (first line of postmaster.pid) and the
 * processes it started. Other PostgreSQL servers on the machine are not counted.
 */
function postgresMemory(cluster: string): PostgresMemory {
  const memory = { pss: 0, shared: 0 };
  let postmaster: string;
  try {
    postmaster = readFileSync(path.join(cluster, 'postmaster.pid'), 'utf8').split('\n')[0].trim();
  } catch {
    return memory; // not readable (the server runs as another OS user and the bench is not root)
  }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const parent = /PPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (pid !== postmaster && parent !== postmaster) continue;
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      memory.pss += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) / 1024;
      memory.shared += Number(/^Pss_Shmem:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) / 1024;
    } catch {
      // the process ended while we looked
    }
  }
  return memory;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { hosts: { type: 'string', default: '100000' }, 'detections-per-host': { type: 'string', default: '30' }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const estate = new Estate({ hosts: Number(values.hosts), seed: 42, detectionsPerHost: Number(values['detections-per-host']) });
  const knowledgeBase = new Map<string, QidCves>(estate.knowledgeBase.entries.map((e) => [String(e.qid), { cves: [...e.cves] }]));

  const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-bench-commit-'));
  chmodSync(dir, 0o755); // the server runs as the postgres OS user when the bench runs as root
  const server = await ensureEmbeddedPostgres(dir);
  const opened = await openStore({ databaseUrl: await createFreshDatabase(server.url, 'bench'), dataDir: dir });
  const pgPeak: PostgresMemory = { pss: 0, shared: 0 };
  const sampler = setInterval(() => {
    const now = postgresMemory(path.join(dir, 'cluster'));
    if (now.pss > pgPeak.pss) Object.assign(pgPeak, now);
  }, 500);
  const policy = { allowShrink: false, maxShrinkShare: DEFAULT_MAX_SHRINK_SHARE, removedAssetRetentionDays: DEFAULT_REMOVED_ASSET_RETENTION_DAYS };
  const rows: string[] = [];
  try {
    for (const generation of [0, 1]) {
      if (generation === 1) advanceEstate(estate);
      const run: RunRef = { connection: CONNECTION, runKey: `bench-${generation}`, workflowId: 'bench-commit', startedAt: new Date().toISOString() };
      const indexes = [...estate.presentIndexes()];
      const hostIds = indexes.map((i) => estate.hostId(i));
      const pages: PageRange[] = cutIntoPages(hostIds, PAGE_SIZE);
      await opened.store.beginRun(run, pages, indexes.length, { hostIds });
      let findings = 0;
      const uploadStarted = performance.now();
      for (const page of pages) {
        const assets = [];
        const pageFindings = [];
        for (const index of indexes.slice(page.index * PAGE_SIZE, page.index * PAGE_SIZE + page.hosts)) {
          const { host, hostAsset, detections } = recordsOf(estate.truthHost(index));
          assets.push(mapAsset(CONNECTION, host, hostAsset, run.startedAt));
          pageFindings.push(...mapFindings(CONNECTION, host.id, detections, knowledgeBase, run.startedAt).findings);
        }
        findings += pageFindings.length;
        await opened.store.uploadMappedRecords(run, page, { assets, findings: pageFindings });
      }
      const uploadSeconds = (performance.now() - uploadStarted) / 1000;
      const commitStarted = performance.now();
      const result = await opened.store.commitRun(
        run,
        {
          modelVersion: '',
          connection: CONNECTION,
          workflowId: run.workflowId,
          runKey: run.runKey,
          startedAt: run.startedAt,
          committedAt: new Date().toISOString(),
          durationSeconds: 0,
          totals: { hosts: indexes.length, assets: indexes.length, detections: 0, findings, droppedNoCve: 0, droppedUnknownQid: 0, pages: pages.length, knowledgeBaseLookups: 0 },
          dropped: { qidWithoutCve: 0, qidNotInKnowledgeBase: 0 },
          apiCalls: { callsByEndpoint: {}, failuresByCode: {}, retryDelaySeconds: 0, total: 0 },
          waiting: { rateLimitTimerSeconds: 0, retryDelaySeconds: 0 },
          continuedAsNew: 0,
          watermark: run.startedAt,
          plan: { mode: 'full', reason: 'the commit benchmark' },
        },
        policy,
      );
      const commitSeconds = (performance.now() - commitStarted) / 1000;
      const line =
        `generation ${generation}: ${indexes.length} hosts, ${findings} findings; map + upload ${uploadSeconds.toFixed(1)} s ` +
        `(${Math.round(findings / uploadSeconds)} findings/s), commit ${commitSeconds.toFixed(1)} s; changes ${JSON.stringify(result.changes)}`;
      console.log(line);
      rows.push(line);
    }
  } finally {
    clearInterval(sampler);
    await opened.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true }); // gigabytes at 100 000 hosts
  }
  console.log(
    `peak RSS of this process ${peakRssMiB()?.toFixed(0)} MiB; PostgreSQL (its processes' sum of PSS, sampled every 0.5 s) peak ` +
      `${pgPeak.pss.toFixed(0)} MiB, of which shared memory ${pgPeak.shared.toFixed(0)} MiB`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
