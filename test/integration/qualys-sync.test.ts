import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type GroundTruth, type RunningSimulator } from '../../simulator';
import { ConnectionProfiles } from '../../src/config/connections';
import type { Asset, Finding } from '../../src/model/exposure';
import { normaliseMac } from '../../src/model/map-qualys';
import type { RunReport } from '../../src/sinks/sink';
import { createActivityDeps } from '../../src/worker/activity-deps';
import type { SyncResult } from '../../src/workflows/qualys-sync';
import { progressQuery } from '../../src/workflows/progress';
import { connectToTestServer, createTestWorker, freshTaskQueue, historyAsText } from '../harness/temporal';

function readJsonLines<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

/** What the connector must produce from the simulator's estate, computed from the ground truth alone. */
function expectedFrom(truth: GroundTruth): { findingKeys: string[]; droppedNoCve: number; detections: number } {
  const keys = new Set<string>();
  let droppedNoCve = 0;
  let detections = 0;
  for (const host of truth.hosts) {
    for (const d of host.detections) {
      detections += 1;
      const cves = truth.knowledgeBase[d.qid]?.cves ?? [];
      if (cves.length === 0) droppedNoCve += 1;
      for (const cve of cves) keys.add(`qualys:e2e:host:${host.id}:cve:${cve}`);
    }
  }
  return { findingKeys: [...keys].sort(), droppedNoCve, detections };
}

describe('qualysSync end to end (real dev server, real worker, the simulator)', () => {
  let env: Awaited<ReturnType<typeof connectToTestServer>>;
  let simulator: RunningSimulator;

  beforeAll(async () => {
    env = await connectToTestServer();
    simulator = await startSimulator({ hosts: 120, seed: 7 });
  });
  afterAll(async () => {
    await simulator?.close();
    await env?.close();
  });

  it('turns the estate into assets and CVE findings on disk, page by page', async () => {
    const taskQueue = freshTaskQueue('e2e');
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'qualys-e2e-'));
    const deps = createActivityDeps({
      dataDir,
      profiles: ConnectionProfiles.of({ name: 'e2e', apiUrl: simulator.url, username: simulator.username, password: simulator.password }),
    });
    const worker = await createTestWorker(env.nativeConnection, env.namespace, taskQueue, deps);
    const workflowId = `e2e-${taskQueue}`;

    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('qualysSync', {
        taskQueue,
        workflowId,
        args: [{ connection: 'e2e', pageSize: 50 }],
      });
      const outcome = (await handle.result()) as SyncResult;
      // The query still answers from the closed run's final state while the worker is up.
      expect(await handle.query(progressQuery)).toMatchObject({ phase: 'done', pagesDone: 3, pagesTotal: 3 });
      return outcome;
    });
    await deps.close();

    const truth = simulator.truth();
    const expected = expectedFrom(truth);

    // Assets: every host, with every contracted field.
    const assets = readJsonLines<Asset>(path.join(result.outputDir, 'assets.jsonl'));
    expect(assets.map((a) => a.qualysHostId).sort()).toEqual(truth.hosts.map((h) => h.id).sort());
    for (const host of truth.hosts) {
      const asset = assets.find((a) => a.qualysHostId === host.id);
      expect(asset).toBeDefined();
      if (!asset) continue;
      expect(asset.key).toBe(`qualys:e2e:host:${host.id}`);
      expect(asset.fqdn).toBe(host.fqdn);
      expect(asset.operatingSystem).toBe(host.os);
      expect(asset.criticality.assetCriticalityScore).toBe(host.assetCriticalityScore);
      expect(asset.criticality.truRiskScore).toBe(host.truriskScore);
      if (host.ip) expect(asset.ipv4Addresses).toContain(host.ip);
      if (host.ipv6) expect(asset.ipv6Addresses).toContain(host.ipv6);
      const macs = host.interfaces.map((i) => normaliseMac(i.mac)).filter((m): m is string => m !== undefined);
      expect([...asset.macAddresses].sort()).toEqual([...new Set(macs)].sort());
      const gateways = host.interfaces.map((i) => i.gateway).filter((g): g is string => Boolean(g));
      expect([...asset.gatewayAddresses].sort()).toEqual([...new Set(gateways)].sort());
    }

    // Findings: exactly one per (asset, CVE); detections without a CVE are counted, not lost.
    const findings = readJsonLines<Finding>(path.join(result.outputDir, 'findings.jsonl'));
    expect(findings.map((f) => f.key)).toEqual(expected.findingKeys);
    expect(result.totals).toMatchObject({
      hosts: truth.hosts.length,
      detections: expected.detections,
      findings: expected.findingKeys.length,
      droppedNoCve: expected.droppedNoCve,
      pages: 3,
    });
    const report = JSON.parse(readFileSync(result.reportFile, 'utf8')) as RunReport;
    expect(report.totals).toEqual(result.totals);

    // The Web UI and `temporal workflow show` see the five steps as activities.
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const activityTypes = new Set(
      (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean),
    );
    expect(activityTypes).toEqual(
      new Set(['validateCredentials', 'enumerateAssets', 'fetchDetections', 'mapPage', 'uploadPage', 'commitRun']),
    );

    // The password is nowhere: not in history, not in any file the run wrote.
    const historyText = historyAsText(history);
    expect(historyText.includes('{"connection":"e2e"')).toBe(true); // payloads are readable, so the next check means something
    expect(historyText.includes(simulator.password)).toBe(false);
    const filesWithPassword = filesUnder(dataDir).filter((f) => readFileSync(f, 'utf8').includes(simulator.password));
    expect(filesWithPassword).toEqual([]);
  });
});
