// The Qualys client and the mapping over the simulator's realistic profile: gzip bodies cut inside
// multi-byte characters still parse to the exact text, no vendor reference or Bugtraq ID ever becomes
// a CVE, and a cloud asset's MAC that is only in sourceInfo lands on the asset.
import { type GroundTruth, type RunningSimulator, startSimulator } from '../../simulator';
import { detectionResults } from '../../simulator/results-text';
import { resultsWrittenAsText } from '../../simulator/wire-quirks';
import { Estate } from '../../simulator/estate';
import { mapAsset, normaliseMac } from '../../src/model/map-qualys';
import { QualysClient } from '../../src/qualys/client';

let sim: RunningSimulator;
let truth: GroundTruth;
let client: QualysClient;
const SEED = 27;
const HOSTS = 250;

beforeAll(async () => {
  sim = await startSimulator({ hosts: HOSTS, seed: SEED, profile: 'realistic', rateLimit: { calls: 10_000, windowSeconds: 3600 } });
  truth = sim.truth();
  client = new QualysClient({ apiUrl: sim.url, username: sim.username, password: sim.password });
});

afterAll(async () => {
  await client.close();
  await sim.close();
});

const fullRange = (): { idMin: number; idMax: number } => {
  const ids = truth.hosts.map((h) => Number(h.id));
  return { idMin: Math.min(...ids), idMax: Math.max(...ids) };
};

it('asks for gzip and gets it on every API call', async () => {
  sim.resetStats();
  await client.listHostIds();
  await client.searchHostAssets(fullRange());
  const requests = sim.stats().requests;
  expect(requests.length).toBeGreaterThan(0);
  expect(requests.every((r) => r.contentEncoding === 'gzip')).toBe(true);
});

it('multi-byte OS strings arrive intact through Host List and Host List Detection', async () => {
  const hosts = await client.listHosts(fullRange());
  const localized = truth.hosts.filter((h) => /[^\x00-\x7e]/.test(h.os ?? ''));
  expect(localized.length).toBeGreaterThan(3);
  for (const expected of truth.hosts) expect(hosts.find((h) => h.id === expected.id)?.os).toBe(expected.os);
  const detections = await client.listDetections(fullRange(), { truncationLimit: 60 });
  for (const host of detections) expect(host.os).toBe(truth.hosts.find((h) => h.id === host.id)?.os);
});

/**
 * What XML 1.0 makes of RESULTS as the simulator writes them: in CDATA a CR LF (or a lone CR) is one line
 * feed; written as text with `&#13;`, the CR stays. ESC and NUL, which XML forbids, read as U+FFFD.
 * Trimmed, as the client trims every value.
 */
function resultsAsRead(generated: string, writtenAsText: boolean): string {
  const lines = writtenAsText ? generated : generated.replace(/\r\n?/g, '\n');
  return lines.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '\ufffd').trim();
}

it('RESULTS of every size arrive as XML reads them, multi-byte characters, CR LF, &#13;, ESC and NUL and all', async () => {
  const estate = new Estate({ hosts: HOSTS, seed: SEED, profile: 'realistic' });
  const served = await client.listDetections(fullRange(), { showResults: true, truncationLimit: 100 });
  let compared = 0;
  let nonAscii = 0;
  const seen = { crlf: 0, carriageReturns: 0, replaced: 0 };
  for (const host of served) {
    const index = estate.ids.indexOfHostId(Number(host.id));
    if (index === undefined) throw new Error(`host ${host.id} is not in the estate`);
    const generated = new Map(estate.detections(estate.host(index)).map((d) => [String(d.uniqueVulnId), d]));
    for (const detection of host.detections) {
      const d = generated.get(detection.uniqueVulnId ?? '');
      const entry = estate.knowledgeBase.get(Number(detection.qid));
      if (!d || !entry) throw new Error(`detection ${detection.uniqueVulnId} is not generated`);
      const generatedText = detectionResults(d, entry.title, entry.category, 'realistic', SEED);
      expect(detection.results).toBe(resultsAsRead(generatedText, resultsWrittenAsText(d)));
      compared++;
      if (generatedText.includes('\r\n')) seen.crlf++;
      if (detection.results?.includes('\r')) seen.carriageReturns++;
      if (detection.results?.includes('\ufffd')) seen.replaced++;
      if (/[^\x00-\x7e]/.test(detection.results ?? '')) nonAscii++;
    }
  }
  expect(compared).toBeGreaterThan(500);
  expect(nonAscii).toBeGreaterThan(100);
  // The profile's quirks were there to read: CR LF in CDATA and in &#13; form, ESC and NUL in banners.
  expect(seen.crlf).toBeGreaterThan(20);
  expect(seen.carriageReturns).toBeGreaterThan(2);
  expect(seen.replaced).toBeGreaterThan(2);
});

it('no vendor reference or Bugtraq ID ever becomes a CVE: every QID maps to exactly its CVE_LIST', async () => {
  const qids = Object.keys(truth.knowledgeBase);
  const vulns = await client.knowledgeBase(qids);
  expect(vulns).toHaveLength(qids.length);
  const otherIds = new Set(Object.values(truth.knowledgeBase).flatMap((e) => [...(e.vendorReferences ?? []), ...(e.bugtraqIds ?? [])]));
  for (const vuln of vulns) {
    expect(vuln.cves).toEqual(truth.knowledgeBase[vuln.qid]?.cves);
    expect(vuln.cves.every((cve) => /^CVE-\d{4}-\d{4,}$/.test(cve) && !otherIds.has(cve))).toBe(true);
    expect(vuln.title).toBe(truth.knowledgeBase[vuln.qid]?.title);
  }
  const vendorOnly = vulns.filter((v) => (truth.knowledgeBase[v.qid]?.vendorReferences?.length ?? 0) > 0 && v.cves.length === 0);
  expect(vendorOnly.length).toBeGreaterThan(50);
});

it('a cloud asset’s MAC that is only in sourceInfo lands on the asset (EC2, Azure, GCP)', async () => {
  const assets = await client.searchHostAssets(fullRange());
  const hosts = await client.listHosts(fullRange());
  const cloud = truth.hosts.filter((h) => h.cloudMacAddress !== undefined && h.assetId !== undefined);
  expect(new Set(cloud.map((h) => h.cloudProvider))).toEqual(new Set(['AWS', 'Azure', 'GCP']));
  for (const expected of cloud) {
    const asset = assets.find((a) => a.qwebHostId === expected.id);
    const host = hosts.find((h) => h.id === expected.id);
    if (!asset || !host) throw new Error(`host ${expected.id} was not served`);
    expect(asset.interfaces.every((i) => i.macAddress === undefined)).toBe(true);
    expect(asset.cloudSources?.map((s) => [s.provider, s.macAddress])).toEqual([[expected.cloudProvider, expected.cloudMacAddress]]);
    const mapped = mapAsset('sim', host, asset, '2025-11-03T00:00:00Z');
    expect(mapped.macAddresses).toEqual([normaliseMac(expected.cloudMacAddress)]);
    expect(mapped.networkInterfaces.find((i) => i.address === expected.ip)?.macAddress).toBe(normaliseMac(expected.cloudMacAddress));
  }
});
