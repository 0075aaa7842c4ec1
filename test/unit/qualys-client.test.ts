import { gzipSync } from 'node:zlib';
import { QualysClient, type QualysCallEvent } from '../../src/qualys/client';
import {
  fixture,
  standardLimitHeaders,
  startFakeQualys,
  xml,
  type FakeQualys,
  type ReceivedRequest,
} from './fixtures/qualys/fake-qualys';

const USERNAME = 'acme_ab12';
const PASSWORD = 'Pa55+w/rd&=é!';
const VERSION = (require('../../package.json') as { version: string }).version;

let fake: FakeQualys;
let client: QualysClient;
let events: QualysCallEvent[];

beforeEach(async () => {
  fake = await startFakeQualys(() => xml('', 500));
  events = [];
  client = new QualysClient(
    { apiUrl: fake.url, username: USERNAME, password: PASSWORD },
    { onCall: (event) => events.push(event) },
  );
});

afterEach(async () => {
  await client.close();
  await fake.close();
});

function formOf(request: ReceivedRequest | undefined): Record<string, string> {
  return Object.fromEntries(request?.form ?? []);
}

describe('requests', () => {
  it('POSTs form-encoded API v2 calls with Basic auth, X-Requested-With and the User-Agent', async () => {
    fake.route = () => xml(fixture('host-list-ids.xml'));
    await client.listHostIds();
    const request = fake.requests[0];
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/api/2.0/fo/asset/host/');
    expect(request?.headers['authorization']).toBe(
      `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`, 'utf8').toString('base64')}`,
    );
    expect(request?.headers['x-requested-with']).toBeTruthy();
    expect(request?.headers['user-agent']).toBe(`qualys-exposure-connector/${VERSION}`);
    expect(request?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(formOf(request)).toEqual({ action: 'list', details: 'None', truncation_limit: '0' });
  });

  it('POSTs QPS calls as XML, also with X-Requested-With', async () => {
    fake.route = () => xml(fixture('hostasset-count.xml'), 200, {});
    await client.countHostAssets();
    const request = fake.requests[0];
    expect(request?.path).toBe('/qps/rest/2.0/count/am/hostasset');
    expect(request?.headers['content-type']).toMatch(/^text\/xml/);
    expect(request?.headers['x-requested-with']).toBeTruthy();
    expect(request?.headers['authorization']).toMatch(/^Basic /);
    expect(request?.body).toBe('<ServiceRequest><filters><Criteria field="id" operator="GREATER">0</Criteria></filters></ServiceRequest>');
  });

  it('keeps a custom base path of a private platform', async () => {
    const prefixed = new QualysClient({ apiUrl: `${fake.url}/qualys/`, username: USERNAME, password: PASSWORD });
    fake.route = () => xml(fixture('host-list-empty.xml'));
    await prefixed.listHostIds();
    await prefixed.close();
    expect(fake.requests[0]?.path).toBe('/qualys/api/2.0/fo/asset/host/');
  });

  it('reuses one keep-alive connection across calls', async () => {
    const ports = new Set<number | undefined>();
    fake.route = () => (res, req) => {
      ports.add(req.socket.remotePort);
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(fixture('host-list-empty.xml'));
    };
    for (let i = 0; i < 6; i++) await client.listHostIds();
    // undici may open a second socket while the first is being released; it must not open one per call.
    expect(ports.size).toBeLessThanOrEqual(2);
  });

  it('accepts gzip-compressed responses', async () => {
    fake.route = () => ({
      status: 200,
      headers: { 'Content-Type': 'text/xml', 'Content-Encoding': 'gzip' },
      body: gzipSync(Buffer.from(fixture('host-list-ids.xml'))),
    });
    expect(await client.listHostIds()).toHaveLength(8);
    expect(fake.requests[0]?.headers['accept-encoding']).toContain('gzip');
  });
});

describe('listHostIds', () => {
  it('expands ID and ID_RANGE, sorted ascending, and passes the range', async () => {
    fake.route = () => xml(fixture('host-list-ids.xml'));
    expect(await client.listHostIds({ idMin: 1, idMax: 10_000_000 })).toEqual([77, 120, 121, 122, 123, 500, 501, 9000001]);
    expect(formOf(fake.requests[0])).toMatchObject({ id_min: '1', id_max: '10000000' });
  });

  it('returns [] for an only-DATETIME response', async () => {
    fake.route = () => xml(fixture('host-list-empty.xml'));
    expect(await client.listHostIds()).toEqual([]);
  });

  it('still follows a WARNING 1980 if one appears', async () => {
    const firstPage = fixture('host-list-ids-single.xml').replace(
      '</ID_SET>',
      '</ID_SET><WARNING><CODE>1980</CODE><TEXT>1 record limit exceeded. Use URL to get next batch of results.</TEXT>' +
        '<URL><![CDATA[https://qualysapi.qg2.apps.qualys.com/api/2.0/fo/asset/host/?action=list&details=None&id_min=43]]></URL></WARNING>',
    );
    fake.route = (request) => xml(request.form.get('id_min') === '43' ? fixture('host-list-ids.xml') : firstPage);
    expect(await client.listHostIds()).toEqual([42, 77, 120, 121, 122, 123, 500, 501, 9000001]);
    expect(fake.requests.map((r) => r.form.get('id_min'))).toEqual([null, '43']);
  });

  it('keeps one of an ID two pages both carry', async () => {
    const firstPage = fixture('host-list-ids.xml').replace(
      '</ID_SET>',
      '</ID_SET><WARNING><CODE>1980</CODE><TEXT>8 record limit exceeded.</TEXT>' +
        '<URL><![CDATA[https://qualysapi.qg2.apps.qualys.com/api/2.0/fo/asset/host/?action=list&details=None&id_min=501]]></URL></WARNING>',
    );
    const secondPage = fixture('host-list-ids-single.xml').replace('<ID>0042</ID>', '<ID>501</ID><ID_RANGE>9000001-9000002</ID_RANGE>');
    fake.route = (request) => xml(request.form.get('id_min') === '501' ? secondPage : firstPage);
    expect(await client.listHostIds()).toEqual([77, 120, 121, 122, 123, 500, 501, 9000001, 9000002]);
  });
});

describe('listHosts', () => {
  it('asks for details, TruRisk and asset IDs within the range', async () => {
    fake.route = () => xml(fixture('host-list-details.xml'));
    const hosts = await client.listHosts({ idMin: 100, idMax: 199 });
    expect(hosts.map((h) => [h.id, h.assetCriticalityScore, h.truriskScore])).toEqual([
      ['120', 4, 712],
      ['121', 2, 0],
    ]);
    expect(formOf(fake.requests[0])).toEqual({
      action: 'list',
      details: 'All',
      show_asset_id: '1',
      show_trurisk: '1',
      truncation_limit: '1000',
      id_min: '100',
      id_max: '199',
    });
  });
});

describe('listDetections', () => {
  it('follows WARNING 1980 by re-issuing the original request with the new id_min', async () => {
    fake.route = (request) =>
      xml(request.form.get('id_min') === '122' ? fixture('detections-page2.xml') : fixture('detections-page1.xml'));
    const hosts = await client.listDetections({ idMin: 100, idMax: 300 });

    expect(hosts.map((h) => h.id)).toEqual(['120', '121', '250']);
    expect(hosts.map((h) => h.detections.map((d) => d.qid))).toEqual([['38170'], ['376023', '105943'], ['91850']]);
    expect(hosts[2]?.detections[0]).toMatchObject({ status: 'Re-Opened', isIgnored: true, qds: 72, qdsSeverity: 'HIGH' });
    expect(hosts[2]?.detections[0]?.results).toBe('%windir%\\System32\\win32k.sys  Version is  10.0.17763.1 &quot;&lt;&gt;');

    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests.map(formOf);
    expect(first).toEqual({
      action: 'list',
      output_format: 'XML',
      status: 'New,Active,Re-Opened,Fixed',
      show_results: '0',
      show_asset_id: '1',
      show_qds: '1',
      truncation_limit: '1000',
      id_min: '100',
      id_max: '300',
    });
    expect(second).toEqual({ ...first, id_min: '122' });
    expect(events.map((e) => [e.endpoint, e.httpStatus, e.ok])).toEqual([
      ['hostDetection', 200, true],
      ['hostDetection', 200, true],
    ]);
  });

  it('passes statuses, results, truncation limit and the incremental filter', async () => {
    fake.route = () => xml(fixture('detections-empty.xml'));
    expect(
      await client.listDetections(
        { idMin: 1, idMax: 2 },
        { statuses: ['Active', 'New'], showResults: true, truncationLimit: 250, detectionUpdatedSince: '2024-05-01T00:00:00Z' },
      ),
    ).toEqual([]);
    expect(formOf(fake.requests[0])).toMatchObject({
      status: 'Active,New',
      show_results: '1',
      truncation_limit: '250',
      detection_updated_since: '2024-05-01T00:00:00Z',
    });
  });

  it('refuses bad arguments before calling Qualys', async () => {
    await expect(client.listDetections({ idMin: 5, idMax: 1 })).rejects.toMatchObject({ kind: 'bad-request', retryable: false });
    await expect(client.listDetections({ idMin: 1, idMax: 2 }, { truncationLimit: 0 })).rejects.toMatchObject({
      kind: 'bad-request',
    });
    await expect(client.listDetections({ idMin: 1, idMax: 2 }, { detectionUpdatedSince: 'yesterday' })).rejects.toMatchObject({
      kind: 'bad-request',
    });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('knowledgeBase', () => {
  it('POSTs the QIDs with details=Basic and maps CVEs', async () => {
    fake.route = () => xml(fixture('knowledge-base.xml'));
    const vulns = await client.knowledgeBase(['91850', '38170', '376023', '38170']);
    expect(vulns.map((v) => [v.qid, v.cves.length])).toEqual([
      ['38170', 0],
      ['376023', 1],
      ['91850', 2],
    ]);
    expect(fake.requests[0]?.path).toBe('/api/2.0/fo/knowledge_base/vuln/');
    expect(formOf(fake.requests[0])).toEqual({ action: 'list', details: 'Basic', ids: '38170,91850,376023' });
  });

  it('treats an only-DATETIME response as none known, and makes no call for no QIDs', async () => {
    fake.route = () => xml(fixture('knowledge-base-empty.xml'));
    expect(await client.knowledgeBase([])).toEqual([]);
    expect(fake.requests).toHaveLength(0);
    expect(await client.knowledgeBase(['999999999'])).toEqual([]);
    await expect(client.knowledgeBase(['CVE-2024-1'])).rejects.toMatchObject({ kind: 'bad-request' });
  });
});

describe('searchHostAssets / countHostAssets', () => {
  it('filters by host ID range and pages with lastId', async () => {
    fake.route = (request) =>
      xml(request.body.includes('field="id"') ? fixture('hostasset-page2.xml') : fixture('hostasset-page1.xml'), 200, {});
    const assets = await client.searchHostAssets({ idMin: 100, idMax: 300 });
    expect(assets.map((a) => [a.id, a.qwebHostId, a.interfaces.length])).toEqual([
      ['5600001', '120', 1],
      ['5600002', '121', 2],
      ['5600107', '250', 0],
    ]);
    expect(fake.requests.map((r) => r.path)).toEqual(['/qps/rest/2.0/search/am/hostasset', '/qps/rest/2.0/search/am/hostasset']);
    expect(fake.requests[0]?.body).toBe(
      '<ServiceRequest><preferences><limitResults>1000</limitResults></preferences><filters>' +
        '<Criteria field="qwebHostId" operator="GREATER">99</Criteria>' +
        '<Criteria field="qwebHostId" operator="LESSER">301</Criteria>' +
        '</filters></ServiceRequest>',
    );
    expect(fake.requests[1]?.body).toContain('<Criteria field="id" operator="GREATER">5600002</Criteria>');
    expect(fake.requests[1]?.body).toContain('<Criteria field="qwebHostId" operator="GREATER">99</Criteria>');
  });

  it('returns [] when nothing matches', async () => {
    fake.route = () => xml(fixture('hostasset-none.xml'), 200, {});
    expect(await client.searchHostAssets({ idMin: 1, idMax: 2 })).toEqual([]);
  });

  it('counts host assets in a range', async () => {
    fake.route = () => xml(fixture('hostasset-count.xml'), 200, {});
    expect(await client.countHostAssets({ idMin: 1, idMax: 1 })).toBe(1234);
    expect(fake.requests[0]?.body).toBe(
      '<ServiceRequest><filters><Criteria field="qwebHostId" operator="GREATER">0</Criteria>' +
        '<Criteria field="qwebHostId" operator="LESSER">2</Criteria></filters></ServiceRequest>',
    );
  });
});

describe('subscriptionLimits', () => {
  it('is undefined before any call, then reports the last headers seen, per endpoint too', async () => {
    expect(client.subscriptionLimits()).toBeUndefined();
    fake.route = () => xml(fixture('host-list-empty.xml'), 200, { ...standardLimitHeaders, 'X-RateLimit-Remaining': '250' });
    await client.listHostIds();
    fake.route = () => xml(fixture('detections-empty.xml'), 200, { 'X-ConcurrencyLimit-Limit': '10', 'X-ConcurrencyLimit-Running': '4' });
    await client.listDetections({ idMin: 1, idMax: 2 });

    expect(client.subscriptionLimits()).toEqual({ concurrencyLimit: 10, concurrencyRunning: 4 });
    expect(client.subscriptionLimits('hostList')).toEqual({
      rateLimit: 300,
      rateWindowSeconds: 3600,
      rateRemaining: 250,
      toWaitSeconds: 0,
      concurrencyLimit: 2,
      concurrencyRunning: 0,
    });

    // A response without limit headers (QPS) leaves them as they were.
    fake.route = () => xml(fixture('hostasset-count.xml'), 200, {});
    await client.countHostAssets();
    expect(client.subscriptionLimits()).toEqual({ concurrencyLimit: 10, concurrencyRunning: 4 });
  });
});

describe('onCall', () => {
  it('reports every call with its outcome, and a throwing observer does not break calls', async () => {
    const throwing = new QualysClient(
      { apiUrl: fake.url, username: USERNAME, password: PASSWORD },
      {
        onCall: () => {
          throw new Error('observer bug');
        },
      },
    );
    fake.route = () => xml(fixture('host-list-empty.xml'));
    await expect(throwing.listHostIds()).resolves.toEqual([]);
    await throwing.close();

    fake.route = () => xml(fixture('simple-return-1905.xml'), 400);
    await expect(client.knowledgeBase(['1'])).rejects.toMatchObject({ kind: 'bad-request' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ endpoint: 'knowledgeBase', httpStatus: 400, qualysCode: '1905', ok: false });
    expect(events[0]?.durationMs).toBeGreaterThanOrEqual(0);
  });
});
