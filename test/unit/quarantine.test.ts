// Quarantine's building blocks: the simulator's unreadable records read by the real client (each set
// aside naming its host where it can), and a page's mapping leaving the hosts they are about as they are.
import { startSimulator, type GroundTruth, type RunningSimulator } from '../../simulator';
import { pageMapping } from '../../src/activities/page-mapping';
import type { HostAsset, HostDetections, QualysHost } from '../../src/qualys/schemas';
import { QualysClient } from '../../src/qualys/client';
import type { QualysEndpoint } from '../../src/qualys/endpoints';
import type { RejectedRecord } from '../../src/qualys/parse-document';

describe('unreadable records from the simulator', () => {
  let sim: RunningSimulator;
  let truth: GroundTruth;
  let client: QualysClient;

  beforeAll(async () => {
    sim = await startSimulator({ hosts: 12, seed: 19, detectionsPerHost: 3, rateLimit: { calls: 10_000, windowSeconds: 3600 } });
    truth = sim.truth();
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.clearFaults();
    client = new QualysClient({ apiUrl: sim.url, username: sim.username, password: sim.password });
  });
  afterEach(async () => {
    await client.close();
  });

  const range = (): { idMin: number; idMax: number } => {
    const ids = truth.hosts.map((h) => Number(h.id));
    return { idMin: Math.min(...ids), idMax: Math.max(...ids) };
  };
  const firstWithDetections = (): GroundTruth['hosts'][number] => {
    const host = [...truth.hosts].sort((a, b) => Number(a.id) - Number(b.id)).find((h) => h.detections.length > 0);
    if (!host) throw new Error('the estate has no host with detections');
    return host;
  };

  async function readDetections(): Promise<{ hosts: string[]; rejected: Array<RejectedRecord & { endpoint: QualysEndpoint }> }> {
    const hosts: string[] = [];
    const rejected: Array<RejectedRecord & { endpoint: QualysEndpoint }> = [];
    await client.streamDetections(range(), {}, { onRejectedRecord: (endpoint, record) => rejected.push({ endpoint, ...record }) }, (h) =>
      hosts.push(h.id),
    );
    return { hosts, rejected };
  }

  it('a DETECTION whose QID is not a number sets its HOST aside, naming the host', async () => {
    sim.setFaults({ endpoint: 'hostDetection', unreadableRecords: 1 });
    const { hosts, rejected } = await readDetections();
    const host = firstWithDetections();
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ endpoint: 'hostDetection', hostId: host.id });
    expect(rejected[0]?.reason).toMatch(/QID/);
    expect(rejected[0]?.xml).toContain('<QID>QID-');
    expect(hosts).not.toContain(host.id);
    // The fault was used up: the next answer reads whole.
    expect((await readDetections()).rejected).toEqual([]);
  });

  it('a HOST without an ID is set aside naming no host', async () => {
    sim.setFaults({ endpoint: 'hostDetection', unreadableRecords: 1, unreadableRecord: 'host-id' });
    const { hosts, rejected } = await readDetections();
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.hostId).toBeUndefined();
    expect(hosts).not.toContain(firstWithDetections().id);
  });

  it('a Host List HOST without an ID is set aside too', async () => {
    sim.setFaults({ endpoint: 'hostList', unreadableRecords: 1, unreadableRecord: 'host-id' });
    const rejected: RejectedRecord[] = [];
    const hosts: string[] = [];
    await client.streamHosts(range(), { onRejectedRecord: (_endpoint, record) => rejected.push(record) }, (h) => hosts.push(h.id));
    expect(rejected).toHaveLength(1);
    expect(hosts).toHaveLength(truth.hosts.length - 1);
  });
});

describe('a page mapped with hosts that could not be read', () => {
  const hosts: QualysHost[] = ['1', '2', '3'].map((id) => ({ id }));
  const assets: HostAsset[] = [{ id: '501', qwebHostId: '1', interfaces: [] }, { id: '502', qwebHostId: '2', interfaces: [] }];
  const detectionsOf = (id: string, qid: string): HostDetections => ({ id, detections: [{ qid, type: 'Confirmed', status: 'Active', ssl: false }] });
  const knowledgeBase = new Map([['100', { cves: ['CVE-2024-0001'] }]]);

  function mapped(unread: Parameters<typeof pageMapping>[5]): { assets: string[]; findings: string[]; kept: number } {
    const mapping = pageMapping('c', '2026-01-01T00:00:00.000Z', hosts, assets, knowledgeBase, unread);
    const findings = mapping.findings([detectionsOf('1', '100'), detectionsOf('2', '100')]).map((f) => f.qualysHostId);
    return { assets: mapping.assets().map((a) => a.asset.qualysHostId), findings, kept: mapping.counts().hostsKept };
  }

  it('maps every host when nothing was rejected', () => {
    expect(mapped(undefined)).toEqual({ assets: ['1', '2', '3'], findings: ['1', '2'], kept: 0 });
  });

  it('leaves a named host out, asset and findings', () => {
    expect(mapped({ ids: new Set(['2']), unnamedIn: new Set() })).toEqual({ assets: ['1', '3'], findings: ['1'], kept: 1 });
  });

  it('an unnamed HOST of Host List Detection: the hosts without detections in the answer are left out', () => {
    expect(mapped({ ids: new Set(), unnamedIn: new Set(['detections']) })).toEqual({ assets: ['1', '2'], findings: ['1', '2'], kept: 1 });
  });

  it('an unnamed HostAsset: the hosts without a host asset are left out', () => {
    expect(mapped({ ids: new Set(), unnamedIn: new Set(['hostAssets']) })).toEqual({ assets: ['1', '2'], findings: ['1', '2'], kept: 1 });
  });
});
