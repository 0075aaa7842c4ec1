// Regression fixtures shaped like real subscriptions' responses (see fixtures/qualys/README.md):
// the client's parsers and the mapping keep CVEs, MACs and multi-byte text right.
import { mapAsset, mapFindings, normaliseMac } from '../../src/model/map-qualys';
import { hostAssetPage } from '../../src/qualys/parse-host-asset';
import { parseHostDetectionPage } from '../../src/qualys/parse-host-detection';
import { parseKnowledgeBasePage } from '../../src/qualys/parse-knowledge-base';
import { parseServiceResponse } from '../../src/qualys/parse-service-response';
import { hostAssetSchema } from '../../src/qualys/schemas';
import { parseQualysXml, type XmlContext } from '../../src/qualys/xml';
import { fixture } from './fixtures/qualys/fake-qualys';

const kb: XmlContext = { endpoint: 'knowledgeBase', httpStatus: 200 };
const hld: XmlContext = { endpoint: 'hostDetection', httpStatus: 200 };
const qps: XmlContext = { endpoint: 'hostAssetSearch', httpStatus: 200 };

describe('KnowledgeBase: only CVE_LIST/CVE/ID becomes a CVE', () => {
  const page = parseKnowledgeBasePage(parseQualysXml(fixture('knowledge-base-realistic.xml'), kb), kb);

  it('reads the CVEs of CVE_LIST and nothing from the vendor references, Bugtraq or exploit references', () => {
    expect(page.vulns.map((v) => [v.qid, v.cves])).toEqual([
      ['91234', ['CVE-2024-21407', 'CVE-2024-21408']],
      ['240123', []],
    ]);
    const everyCve = page.vulns.flatMap((v) => v.cves);
    for (const id of ['KB5035845', 'MS24-031', '107394', 'RHSA-2023:5689', '99999', 'CVE-2019-0708']) expect(everyCve).not.toContain(id);
  });

  it('reads scores that carry attributes, and multi-byte titles intact', () => {
    const [windows] = page.vulns;
    expect([windows?.cvssBase, windows?.cvss3Base]).toEqual([9.3, 8.8]);
    expect(windows?.title).toBe('Microsoft® Windows Security Update – March 2024');
  });

  it('a QID whose only IDs are vendor references yields no finding, counted as dropped', () => {
    const cvesByQid = new Map(page.vulns.map((v) => [v.qid, { cves: v.cves }]));
    const mapped = mapFindings('c', '1', [{ qid: '240123', type: 'Confirmed', ssl: false, status: 'Active' }, { qid: '91234', type: 'Confirmed', ssl: false, status: 'New' }], cvesByQid, '2025-11-03T00:00:00Z');
    expect(mapped.findings.map((f) => f.cve).sort()).toEqual(['CVE-2024-21407', 'CVE-2024-21408']);
    expect(mapped.droppedNoCve).toBe(1);
  });
});

describe('Host assets: a cloud asset’s MAC only in sourceInfo lands on the asset', () => {
  const assets = hostAssetPage(parseServiceResponse(parseQualysXml(fixture('hostasset-cloud.xml'), qps), qps), qps).assets;
  const byHost = (id: string): (typeof assets)[number] => {
    const asset = assets.find((a) => a.qwebHostId === id);
    if (!asset) throw new Error(`no asset for host ${id}`);
    return asset;
  };
  const host = (id: string): { id: string; ip?: string } => ({ id, ip: byHost(id).address });

  it('parses each connector’s record with its provider, and nothing for <AssetSource/>', () => {
    expect(assets.map((a) => a.cloudSources)).toEqual([
      [{ provider: 'AWS', macAddress: '0a:9a:0e:ba:3f:d9', privateIpAddress: '172.16.4.21', instanceId: 'i-0f74daf3d7225083a' }],
      [{ provider: 'Azure', macAddress: '00-0D-3A-C4-8F-3F', privateIpAddress: '10.20.1.5', instanceId: '399af5dc-c32a-4c40-95a5-c6ed0e786430' }],
      [{ provider: 'GCP', macAddress: '42:01:0a:f0:99:a3', privateIpAddress: '10.97.15.117', instanceId: '2152878541443265333' }],
      undefined,
    ]);
    for (const asset of assets) expect(hostAssetSchema.parse(asset)).toEqual(asset);
  });

  it.each([
    ['2000001', '0a:9a:0e:ba:3f:d9'],
    ['2000002', '00:0d:3a:c4:8f:3f'],
    ['2000003', '42:01:0a:f0:99:a3'],
  ])('host %s gets MAC %s, on the interface holding the private address when there is one', (id, mac) => {
    const asset = mapAsset('c', host(id), byHost(id), '2025-11-03T00:00:00Z');
    expect(asset.macAddresses).toEqual([mac]);
    const nic = asset.networkInterfaces.find((i) => i.address === byHost(id).cloudSources?.[0]?.privateIpAddress);
    if (byHost(id).interfaces.length > 0) expect(nic?.macAddress).toBe(mac);
  });

  it('an agent asset keeps its interface MAC, and records staged before cloudSources existed still map', () => {
    const agent = mapAsset('c', host('2000004'), byHost('2000004'), '2025-11-03T00:00:00Z');
    expect(agent.macAddresses).toEqual([normaliseMac('F4:8E:38:12:34:56')]);
    const { cloudSources: _dropped, ...older } = byHost('2000001');
    expect(hostAssetSchema.parse(older).cloudSources).toBeUndefined();
    expect(mapAsset('c', host('2000001'), older, '2025-11-03T00:00:00Z').macAddresses).toEqual([]);
  });
});

describe('Host List Detection with multi-byte text and comments after the root', () => {
  it('keeps OS and RESULTS intact', () => {
    const page = parseHostDetectionPage(parseQualysXml(fixture('detections-utf8.xml'), hld), hld);
    expect(page.hosts[0]?.os).toBe('Microsoft Windows 10 企业版 10.0.19045 64 位');
    const results = page.hosts[0]?.detections[0]?.results ?? '';
    expect(results).toContain('C:\\Users\\田中\\AppData');
    expect(results).toContain('🚀 Portail Intranet – Accès réservé');
    expect(page.hosts[0]?.detections[0]?.qds).toBe(76);
  });
});
