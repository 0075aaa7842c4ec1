// A whole connector run over the simulator's realistic profile (whatever QUALYS_SIM_PROFILE says):
// no vendor reference or Bugtraq ID becomes a CVE, multi-byte text arrives intact in the store and the
// export, and a cloud asset's MAC that is only in the HostAsset sourceInfo lands on the asset.
import { rmSync } from 'node:fs';
import { normaliseMac } from '../../src/model/map-qualys';
import { exportedState, expectedFrom, runSync } from '../harness/sync-run';
import { useTestEnvironment } from '../harness/test-environment';

describe('qualysSync over realistic Qualys content', () => {
  const testEnvironment = useTestEnvironment();

  it('maps only CVE_LIST CVEs, keeps UTF-8 text and takes cloud MACs from sourceInfo, in the store and the export', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 150, seed: 41, profile: 'realistic' });
    const run = await runSync(env, sim, { connection: 'real', input: { pageSize: 50 } });
    const truth = sim.truth();

    // Findings: exactly one per (asset, CVE of the QID's CVE_LIST); vendor and Bugtraq IDs never appear.
    expect(run.findings.map((f) => f.key)).toEqual(expectedFrom(truth, 'real').findingKeys);
    const notCves = new Set(Object.values(truth.knowledgeBase).flatMap((e) => [...(e.vendorReferences ?? []), ...(e.bugtraqIds ?? [])]));
    expect(notCves.size).toBeGreaterThan(100);
    expect(run.findings.filter((f) => notCves.has(f.cve) || !/^CVE-\d{4}-\d{4,}$/.test(f.cve))).toEqual([]);
    const detectedVendorOnly = truth.hosts
      .flatMap((h) => h.detections.map((d) => truth.knowledgeBase[d.qid]))
      .filter((e) => e !== undefined && e.cves.length === 0 && (e.vendorReferences?.length ?? 0) > 0);
    expect(detectedVendorOnly.length).toBeGreaterThan(0);
    expect(run.report.totals.droppedNoCve).toBe(expectedFrom(truth, 'real').droppedNoCve);

    // Multi-byte OS captions, in the store and in `npm run export`'s files.
    const exported = await exportedState(run.databaseUrl, 'real');
    rmSync(exported.dir, { recursive: true, force: true });
    const localized = truth.hosts.filter((h) => /[^\x00-\x7e]/.test(h.os ?? ''));
    expect(localized.length).toBeGreaterThan(2);
    for (const host of localized) {
      expect(run.assets.find((a) => a.qualysHostId === host.id)?.operatingSystem).toBe(host.os);
      expect(exported.assets.find((a) => a.qualysHostId === host.id)?.operatingSystem).toBe(host.os);
    }

    // Cloud instances: the MAC from sourceInfo, on the asset and on its private interface.
    const cloud = truth.hosts.filter((h) => h.cloudMacAddress !== undefined && h.assetId !== undefined);
    expect(new Set(cloud.map((h) => h.cloudProvider))).toEqual(new Set(['AWS', 'Azure', 'GCP']));
    for (const host of cloud) {
      const mac = normaliseMac(host.cloudMacAddress);
      for (const asset of [run.assets.find((a) => a.qualysHostId === host.id), exported.assets.find((a) => a.qualysHostId === host.id)]) {
        expect(asset?.macAddresses).toEqual([mac]);
        expect(asset?.networkInterfaces.find((i) => i.address === host.ip)?.macAddress).toBe(mac);
      }
    }
  });
});
