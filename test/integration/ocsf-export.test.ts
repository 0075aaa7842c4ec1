import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import type { Asset, Finding } from '../../src/model/exposure';
import type { OcsfDeviceInventoryInfo, OcsfVulnerabilityFinding } from '../../src/model/ocsf';
import { exportCurrentState } from '../../src/store/export';
import { projectCommand } from '../harness/cli';
import { ocsfErrors } from '../harness/ocsf-schema';
import { exportedState, readJsonLines, runSync } from '../harness/sync-run';
import { useTestEnvironment } from '../harness/test-environment';

async function exportOcsf(databaseUrl: string, connection: string): Promise<{ devices: OcsfDeviceInventoryInfo[]; findings: OcsfVulnerabilityFinding[]; counts: { assets: number; findings: number; rejected_records: number } }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-ocsf-'));
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    const counts = await exportCurrentState(pool, connection, dir, 'ocsf');
    return {
      counts,
      devices: readJsonLines<OcsfDeviceInventoryInfo>(path.join(dir, 'devices.ocsf.jsonl')),
      findings: readJsonLines<OcsfVulnerabilityFinding>(path.join(dir, 'vulnerability-findings.ocsf.jsonl')),
    };
  } finally {
    await pool.end();
  }
}

const QUALYS_TO_OCSF_SEVERITY: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 };
const ms = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

describe('npm run export -- --format ocsf (real PostgreSQL, real dev server, the simulator)', () => {
  const testEnvironment = useTestEnvironment();

  it('writes every asset as a Device Inventory Info and every finding as a Vulnerability Finding that validate against the official OCSF 1.8.0 schema and carry the record', async () => {
    const env = testEnvironment.env();
    const connection = 'ocsf';
    const sim = await testEnvironment.simulator({ hosts: 240, seed: 29 });
    const first = await runSync(env, sim, { connection, input: { pageSize: 80 } });
    sim.advance({ addedShare: 0.03, removedShare: 0.04, changedShare: 0.25, qidsGainingCve: 2 });
    await runSync(env, sim, { connection, input: { pageSize: 80, mode: 'full' }, databaseUrl: first.databaseUrl });

    const state = await exportedState(first.databaseUrl, connection);
    const ocsf = await exportOcsf(first.databaseUrl, connection);
    expect(ocsf.counts).toEqual({ assets: state.assets.length, findings: state.findings.length, rejected_records: 0 });
    expect(ocsf.devices).toHaveLength(state.assets.length);
    expect(ocsf.findings).toHaveLength(state.findings.length);

    // Every event validates against the vendored schema; the first few complaints are shown if not.
    const invalid = [
      ...ocsf.devices.map((e) => ({ uid: e.device.uid, errors: ocsfErrors('inventory_info', e) })),
      ...ocsf.findings.map((e) => ({ uid: e.finding_info.uid, errors: ocsfErrors('vulnerability_finding', e) })),
    ].filter((r) => r.errors.length > 0);
    expect(invalid.slice(0, 3)).toEqual([]);

    // The lifecycle the store holds is there: removed assets, open and reopened findings, findings
    // fixed by Qualys and closed with their asset — so every activity (Create, Update, Close) is exported.
    const byKey = new Map<string, Asset>(state.assets.map((a) => [a.key, a]));
    expect(state.assets.some((a) => a.status === 'removed')).toBe(true);
    const reasons = new Set(state.findings.map((f) => f.closedReason ?? 'open'));
    expect([...reasons]).toEqual(expect.arrayContaining(['asset-removed', 'open', 'qualys-fixed']));
    expect([...new Set(ocsf.findings.map((e) => e.activity_name))].sort()).toEqual(['Close', 'Create', 'Update']);

    state.assets.forEach((asset, i) => {
      const event = ocsf.devices[i];
      expect(event).toMatchObject({ class_uid: 5001, category_uid: 5, activity_id: 2, type_uid: 500102, time: ms(asset.removedAt) ?? ms(asset.lastSeenAt) });
      expect(event?.device).toMatchObject({ uid: asset.key, uid_alt: asset.qualysHostId, first_seen_time: ms(asset.firstSeenAt), last_seen_time: ms(asset.lastSeenAt) });
      expect(event?.device.ip).toBe(asset.ipv4Addresses[0] ?? asset.ipv6Addresses[0]);
      expect(event?.device.os?.name).toBe(asset.operatingSystem);
      expect(event?.unmapped.qualys).toMatchObject({ status: asset.status, criticality: asset.criticality, macAddresses: asset.macAddresses, gatewayAddresses: asset.gatewayAddresses });
    });

    state.findings.forEach((finding: Finding, i) => {
      const event = ocsf.findings[i];
      const activity = finding.status === 'fixed' ? 3 : finding.reopenedAt ? 2 : 1;
      expect(event).toMatchObject({
        class_uid: 2002,
        category_uid: 2,
        activity_id: activity,
        type_uid: 200200 + activity,
        severity_id: finding.severity ? QUALYS_TO_OCSF_SEVERITY[finding.severity] : 0,
        status_id: finding.status === 'open' ? 1 : 4,
        finding_info: { uid: finding.key, first_seen_time: ms(finding.firstSeenAt), last_seen_time: ms(finding.lastSeenAt) },
      });
      expect(event?.vulnerabilities).toEqual([
        expect.objectContaining({ cve: { uid: finding.cve }, first_seen_time: ms(finding.firstFound), last_seen_time: ms(finding.lastFound) }),
      ]);
      // The device is the finding's asset, as the device inventory has it.
      expect(event?.device).toEqual(ocsf.devices.find((d) => d.device.uid === finding.assetKey)?.device);
      expect(byKey.has(finding.assetKey)).toBe(true);
      // The Qualys evidence travels whole.
      expect(event?.unmapped.qualys.evidence).toEqual(finding.evidence);
      expect(event?.unmapped.qualys.closedReason).toBe(finding.closedReason);
      if (finding.lastReportedEvidence) expect(event?.unmapped.qualys.lastReportedEvidence).toEqual(finding.lastReportedEvidence);
      expect(event?.vulnerabilities[0]?.related_vulnerabilities.sort()).toEqual(
        [...new Set((finding.evidence.length > 0 ? finding.evidence : (finding.lastReportedEvidence ?? [])).map((e) => `Qualys QID ${e.qid}`))].sort(),
      );
    });

    // The schema is not a formality: an event with a severity OCSF does not define, or an attribute
    // OCSF does not have, is refused.
    const sample = ocsf.findings[0];
    expect(ocsfErrors('vulnerability_finding', { ...sample, severity_id: 7 }).length).toBeGreaterThan(0);
    expect(ocsfErrors('vulnerability_finding', { ...sample, qualys_qid: '38173' }).length).toBeGreaterThan(0);
    expect(ocsfErrors('inventory_info', { ...ocsf.devices[0], device: { type_id: 0 } }).length).toBeGreaterThan(0);

    // The command, as a user types it (after a build): the same two files; a format it does not know is refused.
    const out = mkdtempSync(path.join(os.tmpdir(), 'qualys-ocsf-cli-'));
    const cli = await projectCommand('export', ['--connection', connection, '--out', out, '--format', 'ocsf'], { DATABASE_URL: first.databaseUrl });
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`Wrote ${state.assets.length} assets (devices.ocsf.jsonl), ${state.findings.length} findings (vulnerability-findings.ocsf.jsonl) and 0 rejected records (rejected_records.jsonl)`);
    expect(readFileSync(path.join(out, 'vulnerability-findings.ocsf.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(state.findings.length);
    const refused = await projectCommand('export', ['--connection', connection, '--out', out, '--format', 'xml'], { DATABASE_URL: first.databaseUrl });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--format xml is not one this command writes: use jsonl or ocsf');
  });

  it('hands the connection name to COPY as a parameter: a name with quotes and replacement patterns exports nothing and breaks nothing', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 20, seed: 3 });
    const run = await runSync(env, sim, { connection: 'quoted', input: { pageSize: 20 } });
    const pool = new Pool({ connectionString: run.databaseUrl });
    try {
      for (const format of ['jsonl', 'ocsf'] as const) {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-quoted-'));
        await expect(exportCurrentState(pool, "x$'y' OR 'a'='a", dir, format)).resolves.toEqual({ assets: 0, findings: 0, rejected_records: 0 });
        await expect(exportCurrentState(pool, "quoted$&$`", dir, format)).resolves.toEqual({ assets: 0, findings: 0, rejected_records: 0 });
        await expect(exportCurrentState(pool, 'quoted', dir, format)).resolves.toEqual({ assets: 20, findings: run.findings.length, rejected_records: 0 });
        expect(existsSync(path.join(dir, format === 'jsonl' ? 'assets.jsonl' : 'devices.ocsf.jsonl'))).toBe(true);
      }
    } finally {
      await pool.end();
    }
  });
});
