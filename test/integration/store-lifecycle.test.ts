import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { GroundTruth } from '../../simulator';
import type { Finding } from '../../src/model/exposure';
import { Pool } from 'pg';
import { exportedState, expectNoSecretAnywhere, runSync, type SyncRun } from '../harness/sync-run';
import { useTestEnvironment } from '../harness/test-environment';

const OPEN = new Set(['New', 'Active', 'Re-Opened']);

/** Every finding the truth implies — key → open or fixed, and the QIDs behind it — for one generation. */
function findingsOf(truth: GroundTruth, connection: string): Map<string, { status: 'open' | 'fixed'; hostId: string; qids: string[] }> {
  const findings = new Map<string, { status: 'open' | 'fixed'; hostId: string; qids: string[] }>();
  for (const host of truth.hosts) {
    for (const d of host.detections) {
      for (const cve of truth.knowledgeBase[d.qid]?.cves ?? []) {
        const key = `qualys:${connection}:host:${host.id}:cve:${cve}`;
        const finding = findings.get(key) ?? { status: 'fixed' as const, hostId: host.id, qids: [] };
        if (OPEN.has(d.status)) finding.status = 'open';
        finding.qids.push(d.qid);
        findings.set(key, finding);
      }
    }
  }
  return findings;
}

/** Status never contradicts evidence: checked over every record. */
function expectConsistent(findings: readonly Finding[]): void {
  for (const f of findings) {
    const openEvidence = f.evidence.some((e) => OPEN.has(e.status));
    if (f.status === 'open') {
      expect({ key: f.key, openEvidence, closedReason: f.closedReason }).toEqual({ key: f.key, openEvidence: true, closedReason: undefined });
    } else if (f.closedReason === 'qualys-fixed') {
      expect({ key: f.key, evidence: f.evidence.length > 0, allFixed: f.evidence.every((e) => e.status === 'Fixed') }).toEqual({ key: f.key, evidence: true, allFixed: true });
    } else {
      // Closed because Qualys stopped reporting it: no current evidence; what it last said is kept apart.
      expect({ key: f.key, evidence: f.evidence.length, kept: (f.lastReportedEvidence ?? []).length > 0 }).toEqual({ key: f.key, evidence: 0, kept: true });
    }
  }
}

describe('the exposure store: record lifecycle over two runs (real PostgreSQL, real dev server, the simulator)', () => {
  const testEnvironment = useTestEnvironment();

  it.each(['full', 'incremental'] as const)('after an advance, the store equals what the truth implies after a %s run: active and removed assets, open, closed and reopened findings', async (mode) => {
    const env = testEnvironment.env();
    const connection = `life-${mode}`;
    const sim = await testEnvironment.simulator({ hosts: 300, seed: 17 });
    const before = sim.truth();
    const first = await runSync(env, sim, { connection, input: { pageSize: 100 } });
    expect(first.report.plan.mode).toBe('full'); // nothing committed yet: auto runs a full one
    const advanced = sim.advance({ addedShare: 0.03, removedShare: 0.03, changedShare: 0.1, qidsGainingCve: 2 });
    expect(advanced.removed.length).toBeGreaterThan(0);
    expect(advanced.qidsGainingCve.length).toBeGreaterThan(0);
    const after = sim.truth();
    sim.resetStats();
    const second = await runSync(env, sim, { connection, input: { pageSize: 100, mode }, databaseUrl: first.databaseUrl });
    expect(second.result.mode).toBe(mode);
    expect(second.report.plan.mode).toBe(mode);
    if (mode === 'incremental') {
      // It asked for the hosts that changed (and those holding a QID that gained a CVE), not the estate.
      const changedHosts = new Set([...advanced.added, ...advanced.changed]);
      expect(second.report.totals.hostsAsked).toBeGreaterThanOrEqual(changedHosts.size);
      expect(second.report.totals.hostsAsked).toBeLessThan(after.hosts.length);
      expect(second.report.plan.since).toBeDefined();
    } else {
      expect(second.report.totals.hostsAsked).toBe(after.hosts.length);
    }

    // Assets: every host of the current generation active, every host gone since removed.
    const removedIds = new Set(advanced.removed);
    const assets = new Map(second.assets.map((a) => [a.qualysHostId, a]));
    expect([...assets.keys()].sort()).toEqual([...new Set([...before.hosts, ...after.hosts].map((h) => h.id))].sort());
    for (const host of after.hosts) expect(assets.get(host.id)?.status).toBe('active');
    for (const id of removedIds) {
      expect(assets.get(id)?.status).toBe('removed');
      expect(assets.get(id)?.removedAt).toBe(second.report.startedAt);
    }
    for (const id of advanced.added) expect(assets.get(id)?.firstSeenAt).toBe(second.report.startedAt);

    // Findings, key by key.
    const was = findingsOf(before, connection);
    const now = findingsOf(after, connection);
    const stored = new Map(second.findings.map((f) => [f.key, f]));
    expect([...stored.keys()].sort()).toEqual([...new Set([...was.keys(), ...now.keys()])].sort());
    let reopened = 0;
    let noLongerReported = 0;
    let assetRemoved = 0;
    for (const [key, f] of stored) {
      const current = now.get(key);
      const previous = was.get(key);
      if (current) {
        expect({ key, status: f.status }).toEqual({ key, status: current.status });
        expect(f.closedReason).toBe(current.status === 'fixed' ? 'qualys-fixed' : undefined);
        expect(f.evidence.map((e) => e.qid).sort()).toEqual([...current.qids].sort());
        const cameBack = previous?.status === 'fixed' && current.status === 'open';
        expect({ key, reopenedAt: f.reopenedAt }).toEqual({ key, reopenedAt: cameBack ? second.report.startedAt : undefined });
        if (cameBack) reopened += 1;
      } else if (previous?.status === 'open') {
        const reason = removedIds.has(previous.hostId) ? 'asset-removed' : 'no-longer-reported';
        expect({ key, status: f.status, closedReason: f.closedReason, closedAt: f.closedAt }).toEqual({
          key,
          status: 'fixed',
          closedReason: reason,
          closedAt: second.report.startedAt,
        });
        if (reason === 'asset-removed') assetRemoved += 1;
        else noLongerReported += 1;
      } else {
        expect({ key, status: f.status, closedReason: f.closedReason }).toEqual({ key, status: 'fixed', closedReason: 'qualys-fixed' });
      }
    }
    expectConsistent(second.findings);
    // The advance reopened, fixed and removed things; the report counts exactly what the store shows.
    expect(assetRemoved).toBeGreaterThan(0);
    expect(reopened + noLongerReported).toBeGreaterThan(0);
    expect(second.report.changes).toMatchObject({
      assetsAdded: advanced.added.length,
      assetsRemoved: advanced.removed.length,
      findingsReopened: reopened,
      findingsNoLongerReported: noLongerReported,
      findingsAssetRemoved: assetRemoved,
    });
    expect(second.report.state).toEqual({
      assetsActive: after.hosts.length,
      assetsRemoved: advanced.removed.length,
      findingsOpen: second.findings.filter((f) => f.status === 'open').length,
      findingsFixed: second.findings.filter((f) => f.status === 'fixed').length,
    });

    // The export holds the same records, in key order.
    const exported = await exportedState(second.databaseUrl, connection);
    expect(exported.assets).toEqual(second.assets);
    expect(exported.findings).toEqual(second.findings);
    await expectNoSecretAnywhere(env, sim.password, second.workflowId, second.databaseUrl);
  });

  it('shrink guard: an emptied estate fails the run, names both counts and leaves the store untouched; allowShrink commits it', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 60, seed: 3 });
    const first = await runSync(env, sim, { connection: 'shrink', input: { pageSize: 30 } });
    const storeBefore = await storeSnapshot(first);
    sim.advance({ removedShare: 1 });
    sim.resetStats();

    const failed = await runSync(env, sim, { connection: 'shrink', databaseUrl: first.databaseUrl }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    const failure = ((failed as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
    expect(failure.type).toBe('EstateShrankTooMuch');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('Qualys returned 0 hosts where the last committed run had 60');
    expect(failure.message).toMatch(/API user lost scope/);
    expect(failure.message).toContain('"allowShrink": true');
    expect(sim.stats().calls.hostDetection).toBe(0); // stopped before a single page was fetched
    expect(await storeSnapshot(first)).toEqual(storeBefore);

    const allowed = await runSync(env, sim, { connection: 'shrink', input: { allowShrink: true }, databaseUrl: first.databaseUrl });
    expect(allowed.assets.length).toBe(60);
    expect(allowed.assets.every((a) => a.status === 'removed')).toBe(true);
    expect(allowed.findings.every((f) => f.status === 'fixed')).toBe(true);
    expect(allowed.findings.some((f) => f.closedReason === 'asset-removed')).toBe(true);
    expectConsistent(allowed.findings);
  });
});

/** The connection's current state and its last committed run (to show a failed run changed nothing). */
async function storeSnapshot(run: SyncRun): Promise<unknown> {
  const exported = await exportedState(run.databaseUrl, run.result.connection);
  const pool = new Pool({ connectionString: run.databaseUrl });
  try {
    const { rows } = await pool.query('SELECT * FROM connections');
    return { assets: exported.assets, findings: exported.findings, connections: rows };
  } finally {
    await pool.end();
  }
}
