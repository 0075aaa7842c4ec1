import { readSubscriptionLimits } from '../../src/qualys/limits';
import { parseHostDetectionPage } from '../../src/qualys/parse-host-detection';
import { parseHostIdPage, parseHostListPage } from '../../src/qualys/parse-host-list';
import { parseKnowledgeBasePage } from '../../src/qualys/parse-knowledge-base';
import { hostAssetPage } from '../../src/qualys/parse-host-asset';
import { parseServiceResponse } from '../../src/qualys/parse-service-response';
import { hostDetectionsSchema, hostAssetSchema, knowledgeBaseVulnSchema, qualysHostSchema } from '../../src/qualys/schemas';
import { nextPageIdMin } from '../../src/qualys/truncation';
import { parseQualysXml, type XmlContext } from '../../src/qualys/xml';
import { fixture } from './fixtures/qualys/fake-qualys';
import { thrownQualysError } from './xml-reading';

const hld: XmlContext = { endpoint: 'hostDetection', httpStatus: 200 };
const hostList: XmlContext = { endpoint: 'hostList', httpStatus: 200 };
const kb: XmlContext = { endpoint: 'knowledgeBase', httpStatus: 200 };
const qps: XmlContext = { endpoint: 'hostAssetSearch', httpStatus: 200 };

describe('parseQualysXml', () => {
  it('ignores comments before the root, mid-document and after it, and the DOCTYPE', () => {
    const doc = parseQualysXml(fixture('detections-page2.xml'), hld);
    expect(doc.rootName).toBe('HOST_LIST_VM_DETECTION_OUTPUT');
    expect(JSON.stringify(doc.root)).not.toContain('keep-alive');
  });

  it('keeps values as strings and trims CDATA padding', () => {
    const doc = parseQualysXml(
      '<A><ID>0042</ID><Q>1e5</Q><OS><![CDATA[\n   Windows 10  \n]]></OS><T>It&#039;s &amp; &lt;b&gt;</T><C><![CDATA[a &quot;b&quot;]]></C></A>',
      hld,
    );
    // Character references are decoded in text; inside CDATA they are literal, as XML says.
    expect(doc.root).toEqual({ ID: '0042', Q: '1e5', OS: 'Windows 10', T: "It's & <b>", C: 'a &quot;b&quot;' });
  });

  it('parses one list item exactly like many', () => {
    const one = parseHostIdPage(parseQualysXml(fixture('host-list-ids-single.xml'), hostList), hostList);
    expect(one.ids).toEqual([42]);
    const page = parseHostDetectionPage(parseQualysXml(fixture('detections-page2.xml'), hld), hld);
    expect(page.hosts).toHaveLength(1);
    expect(page.hosts[0]?.detections).toHaveLength(1);
  });

  it('detects a truncated document instead of half-parsing it', () => {
    const full = fixture('detections-page1.xml');
    for (const cut of [full.length - 40, Math.floor(full.length / 2), 300]) {
      const e = thrownQualysError(() => parseQualysXml(full.slice(0, cut), hld));
      expect(e.kind).toBe('malformed-response');
      expect(e.retryable).toBe(true);
      expect(e.endpoint).toBe('hostDetection');
      expect(e.message).toMatch(/^Host List Detection returned XML that is not well-formed/);
    }
  });

  it('rejects mismatched tags', () => {
    const e = thrownQualysError(() => parseQualysXml('<A><B>1</C></A>', hld));
    expect(e.kind).toBe('malformed-response');
    expect(e.message).toContain('not well-formed');
  });

  it('recognises an HTML page from a proxy and names its title', () => {
    const e = thrownQualysError(() => parseQualysXml(fixture('bad-gateway.html'), { ...hld, httpStatus: 502 }));
    expect(e.kind).toBe('malformed-response');
    expect(e.retryable).toBe(true);
    expect(e.httpStatus).toBe(502);
    expect(e.message).toBe(
      'Host List Detection returned an HTML page (status 502) instead of XML — a proxy or load balancer answered ("502 Bad Gateway").',
    );
  });

  it('rejects an empty body', () => {
    expect(thrownQualysError(() => parseQualysXml('  \n', kb)).message).toContain('KnowledgeBase returned an empty body');
  });
});

describe('document parsers', () => {
  it('expands ID and ID_RANGE into host IDs', () => {
    const page = parseHostIdPage(parseQualysXml(fixture('host-list-ids.xml'), hostList), hostList);
    expect([...page.ids].sort((a, b) => a - b)).toEqual([77, 120, 121, 122, 123, 500, 501, 9000001]);
    expect(page.warning).toBeUndefined();
  });

  it('reads an only-DATETIME response as no data', () => {
    expect(parseHostIdPage(parseQualysXml(fixture('host-list-empty.xml'), hostList), hostList).ids).toEqual([]);
    expect(parseHostDetectionPage(parseQualysXml(fixture('detections-empty.xml'), hld), hld).hosts).toEqual([]);
    expect(parseKnowledgeBasePage(parseQualysXml(fixture('knowledge-base-empty.xml'), kb), kb).vulns).toEqual([]);
  });

  it('maps Host List details, scores and cloud fields', () => {
    const { hosts } = parseHostListPage(parseQualysXml(fixture('host-list-details.xml'), hostList), hostList);
    expect(hosts).toEqual([
      {
        id: '120',
        assetId: '31415926',
        ip: '10.20.0.15',
        trackingMethod: 'IP',
        networkId: '0',
        dns: 'web-01.corp.example.com',
        dnsData: { hostname: 'web-01', domain: 'corp.example.com', fqdn: 'web-01.corp.example.com' },
        netbios: 'WEB-01',
        os: 'Ubuntu Linux 22.04',
        qgHostId: '6f2d8a1c-0b7e-4a55-9d1e-2f3c4b5a6d7e',
        assetCriticalityScore: 4,
        truriskScore: 712,
        lastVulnScan: '2024-04-30T22:01:12Z',
        lastVmScannedDate: '2024-04-30T21:58:40Z',
        lastVmAuthScannedDate: '2024-04-30T21:58:40Z',
      },
      {
        id: '121',
        ip: '172.31.8.9',
        trackingMethod: 'EC2',
        os: 'Amazon Linux 2',
        cloudProvider: 'AWS',
        cloudService: 'EC2',
        cloudResourceId: 'i-0abc1234def567890',
        ec2InstanceId: 'i-0abc1234def567890',
        assetCriticalityScore: 2,
        truriskScore: 0,
      },
    ]);
    for (const host of hosts) expect(qualysHostSchema.parse(JSON.parse(JSON.stringify(host)))).toEqual(host);
  });

  it('maps detections, flags, QDS and the truncation warning', () => {
    const page = parseHostDetectionPage(parseQualysXml(fixture('detections-page1.xml'), hld), hld);
    expect(page.hosts.map((h) => h.id)).toEqual(['120', '121']);
    expect(page.hosts[0]?.detections).toEqual([
      {
        uniqueVulnId: '8812345001',
        qid: '38170',
        type: 'Confirmed',
        severity: 2,
        port: '443',
        protocol: 'tcp',
        ssl: true,
        status: 'Active',
        firstFound: '2023-11-26T04:45:50Z',
        lastFound: '2024-04-30T21:58:40Z',
        lastTest: '2024-04-30T21:58:40Z',
        lastUpdate: '2024-04-30T22:01:12Z',
        lastProcessed: '2024-04-30T22:01:12Z',
        qds: 25,
        qdsSeverity: 'LOW',
        timesFound: 111,
        isIgnored: false,
        isDisabled: false,
        results: 'Certificate #0 CN=web-01.corp.example.com doesn&apos;t resolve',
      },
    ]);
    const fixed = page.hosts[1]?.detections[1];
    expect(fixed).toMatchObject({ qid: '105943', type: 'Potential', status: 'Fixed', ssl: false, port: '22' });
    expect(fixed?.qds).toBeUndefined();
    expect(page.hosts[1]?.qgHostId).toBe('0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f9');
    expect(nextPageIdMin(page.warning, 120, hld)).toBe(122);
    for (const host of page.hosts) expect(hostDetectionsSchema.parse(JSON.parse(JSON.stringify(host)))).toEqual(host);
  });

  it('maps KnowledgeBase CVEs: none, one, several (deduplicated), and CVSS with attributes', () => {
    const { vulns } = parseKnowledgeBasePage(parseQualysXml(fixture('knowledge-base.xml'), kb), kb);
    expect(vulns.map((v) => [v.qid, v.cves])).toEqual([
      ['38170', []],
      ['376023', ['CVE-2024-6387']],
      ['91850', ['CVE-2024-26234', 'CVE-2024-29988']],
    ]);
    expect(vulns[1]).toEqual({
      qid: '376023',
      title: "OpenSSH Regre'SSHion Remote Code Execution Vulnerability",
      severity: 5,
      vulnType: 'Vulnerability',
      category: 'Local',
      patchable: true,
      cves: ['CVE-2024-6387'],
      cvssBase: 9.3,
      cvss3Base: 8.1,
      lastServiceModified: '2024-07-10T12:00:00Z',
      published: '2024-07-01T16:00:00Z',
    });
    for (const vuln of vulns) expect(knowledgeBaseVulnSchema.parse(JSON.parse(JSON.stringify(vuln)))).toEqual(vuln);
  });

  it('maps QPS host assets and their interfaces (one, several, none)', () => {
    const page = hostAssetPage(parseServiceResponse(parseQualysXml(fixture('hostasset-page1.xml'), qps), qps), qps);
    expect(page.nextAfterId).toBe(5600002);
    expect(page.assets[0]).toEqual({
      id: '5600001',
      qwebHostId: '120',
      name: 'web-01.corp.example.com',
      dnsHostName: 'web-01.corp.example.com',
      fqdn: 'web-01.corp.example.com',
      os: 'Ubuntu Linux 22.04',
      address: '10.20.0.15',
      netbiosName: 'WEB-01',
      trackingMethod: 'IP',
      interfaces: [
        {
          interfaceName: 'eth0',
          macAddress: '00:50:56:A1:2B:3C',
          address: '10.20.0.15',
          gatewayAddress: '10.20.0.1',
          hostname: 'web-01',
          type: 'PRIVATE',
        },
      ],
    });
    expect(page.assets[1]?.fqdn).toBeUndefined();
    expect(page.assets[1]?.interfaces).toEqual([
      { hostname: 'ip-172-31-8-9.ec2.internal', type: 'PRIVATE', address: '172.31.8.9' },
      { type: 'PUBLIC', address: '3.91.22.10' },
    ]);
    const last = hostAssetPage(parseServiceResponse(parseQualysXml(fixture('hostasset-page2.xml'), qps), qps), qps);
    expect(last.nextAfterId).toBeUndefined();
    expect(last.assets[0]?.interfaces).toEqual([]);
    for (const asset of [...page.assets, ...last.assets]) expect(hostAssetSchema.parse(JSON.parse(JSON.stringify(asset)))).toEqual(asset);
  });

  it('turns a shape violation into a malformed-response naming the element', () => {
    const bad = fixture('detections-page2.xml').replace('<QID>91850</QID>', '<QID>not-a-qid</QID>');
    const e = thrownQualysError(() => parseHostDetectionPage(parseQualysXml(bad, hld), hld));
    expect(e.kind).toBe('malformed-response');
    expect(e.message).toContain('HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE.HOST_LIST.HOST[0].DETECTION_LIST.DETECTION[0].QID');
    expect(e.message).toContain('expected a numeric ID, got "not-a-qid"');
  });

  it('rejects a document of the wrong kind', () => {
    const e = thrownQualysError(() => parseHostDetectionPage(parseQualysXml(fixture('host-list-empty.xml'), hld), hld));
    expect(e.kind).toBe('malformed-response');
    expect(e.message).toContain('<HOST_LIST_OUTPUT>');
    expect(e.message).toContain('expected <HOST_LIST_VM_DETECTION_OUTPUT>');
  });

  it('refuses a truncation warning that cannot be followed or would loop', () => {
    expect(thrownQualysError(() => nextPageIdMin({ CODE: '1980', TEXT: '1000 record limit exceeded.', URL: undefined }, 1, hld)).kind).toBe(
      'malformed-response',
    );
    expect(thrownQualysError(() => nextPageIdMin({ CODE: '1980', TEXT: 'x', URL: 'https://h/?action=list&id_min=5' }, 5, hld)).message).toContain(
      'does not advance',
    );
    expect(nextPageIdMin({ CODE: '1980', TEXT: 'x', URL: 'https://h/?action=list&amp;id_min=77' }, undefined, hld)).toBe(77);
    expect(nextPageIdMin({ CODE: '9999', TEXT: 'advisory only', URL: undefined }, 1, hld)).toBeUndefined();
  });
});

describe('readSubscriptionLimits', () => {
  it('reads the rate and concurrency headers', () => {
    expect(
      readSubscriptionLimits({
        'x-ratelimit-limit': '300',
        'x-ratelimit-window-sec': '3600',
        'x-ratelimit-remaining': '291',
        'x-ratelimit-towait-sec': '0',
        'x-concurrency-limit-limit': '2',
        'x-concurrency-limit-running': '1',
      }),
    ).toEqual({
      rateLimit: 300,
      rateWindowSeconds: 3600,
      rateRemaining: 291,
      toWaitSeconds: 0,
      concurrencyLimit: 2,
      concurrencyRunning: 1,
    });
  });

  it('reads the alternate X-ConcurrencyLimit-* spelling', () => {
    expect(readSubscriptionLimits({ 'x-concurrencylimit-limit': '10', 'x-concurrencylimit-running': '3' })).toEqual({
      concurrencyLimit: 10,
      concurrencyRunning: 3,
    });
  });

  it('is undefined without limit headers and ignores garbage values', () => {
    expect(readSubscriptionLimits({ 'content-type': 'text/xml' })).toBeUndefined();
    expect(readSubscriptionLimits({ 'x-ratelimit-limit': 'lots', 'x-ratelimit-remaining': '5' })).toEqual({ rateRemaining: 5 });
  });
});
