/**
 * The Qualys API simulator: estate determinism, wire formats, auth, paging, real limits, faults, stats.
 * Every test talks HTTP to a real in-process simulator.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  type Endpoint,
  Estate,
  generateEstate,
  type GroundTruth,
  type RunningSimulator,
  type SimulatorOptions,
  resolveProfile,
  startSimulator,
} from '../../simulator';
import { detectionFieldsLeftOut } from '../../simulator/wire-quirks';
import { until } from '../harness/until';

const HOST_LIST = '/api/2.0/fo/asset/host/';
const HLD = '/api/2.0/fo/asset/host/vm/detection/';
const KB = '/api/2.0/fo/knowledge_base/vuln/';
const QPS_SEARCH = '/qps/rest/2.0/search/am/hostasset';
const QPS_COUNT = '/qps/rest/2.0/count/am/hostasset';

const ARRAY_ELEMENTS = new Set(['HOST', 'DETECTION', 'ID_RANGE', 'VULN', 'CVE', 'HostAsset', 'HostAssetInterface', 'ITEM']);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  trimValues: true,
  jPath: true,
  isArray: (name, jPath) => ARRAY_ELEMENTS.has(name) || (typeof jPath === 'string' && jPath.endsWith('ID_SET.ID')),
});

type Xml = Record<string, unknown>;

function node(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Xml)[key];
  }
  return current;
}

function list(value: unknown, ...path: string[]): Xml[] {
  const found = node(value, ...path);
  return Array.isArray(found) ? (found as Xml[]) : [];
}

function text(value: unknown, ...path: string[]): string | undefined {
  const found = node(value, ...path);
  if (typeof found === 'string') return found;
  if (typeof found === 'object' && found !== null && typeof (found as Xml)['#text'] === 'string') return (found as Xml)['#text'] as string;
  return undefined;
}

interface Reply {
  status: number;
  headers: Headers;
  body: string;
  xml: Xml;
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

async function call(
  sim: RunningSimulator,
  pathOrUrl: string,
  options: {
    params?: Record<string, string>;
    form?: Record<string, string>;
    xmlBody?: string;
    auth?: [string, string] | null;
    requestedWith?: boolean;
  } = {},
): Promise<Reply> {
  const url = new URL(pathOrUrl, sim.url);
  for (const [k, v] of Object.entries(options.params ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? [sim.username, sim.password] : options.auth;
  if (auth) headers['authorization'] = basic(auth[0], auth[1]);
  if (options.requestedWith !== false) headers['x-requested-with'] = 'jest';
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.xmlBody !== undefined) {
    headers['content-type'] = 'text/xml';
    body = options.xmlBody;
  }
  const isQps = url.pathname.startsWith('/qps/');
  const response = await fetch(url, { method: body !== undefined || isQps ? 'POST' : 'GET', headers, body });
  const responseBody = await response.text();
  const valid = XMLValidator.validate(responseBody) === true;
  return { status: response.status, headers: response.headers, body: responseBody, xml: valid ? (parser.parse(responseBody) as Xml) : {} };
}

/** Expands an ID_SET (ID and ID_RANGE) into the list of IDs, ascending. */
function expandIdSet(idSet: unknown): number[] {
  const ids: number[] = [];
  for (const single of list(idSet, 'ID')) ids.push(Number(single));
  for (const range of list(idSet, 'ID_RANGE')) {
    const [from, to] = String(range).split('-').map(Number);
    for (let id = from ?? 0; id <= (to ?? -1); id++) ids.push(id);
  }
  return ids.sort((a, b) => a - b);
}

function qpsBody(criteria: string, limit?: number): string {
  const preferences = limit === undefined ? '' : `<preferences><limitResults>${limit}</limitResults></preferences>`;
  return `<ServiceRequest>${preferences}<filters>${criteria}</filters></ServiceRequest>`;
}

const started: RunningSimulator[] = [];
async function simulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const sim = await startSimulator(options);
  started.push(sim);
  return sim;
}
afterAll(async () => {
  await Promise.all(started.map((sim) => sim.close()));
});

// -------------------------------------------------------------------------------------------------

describe('estate', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generateEstate({ hosts: 60, seed: 7 });
    const b = generateEstate({ hosts: 60, seed: 7 });
    const c = generateEstate({ hosts: 60, seed: 8 });
    expect(b).toEqual(a);
    expect(c.hosts.map((h) => h.id)).not.toEqual(a.hosts.map((h) => h.id));
  });

  it('has ascending host IDs with gaps and runs, invertible by lower bound, cheap at 100 000 hosts', () => {
    const estate = new Estate({ hosts: 100_000, seed: 3 });
    let gaps = 0;
    let consecutive = 0;
    const wrong: number[] = []; // indexes where order or lower bound fails (asserted once: expect() is slow in loops)
    for (let i = 1; i < 5000; i++) {
      const previous = estate.hostId(i - 1);
      const id = estate.hostId(i);
      if (id <= previous || estate.ids.lowerBoundHostId(id) !== i || estate.ids.lowerBoundHostId(previous + 1) !== i) wrong.push(i);
      if (id === previous + 1) consecutive++;
      else gaps++;
    }
    expect(wrong).toEqual([]);
    expect(gaps).toBeGreaterThan(500);
    expect(consecutive).toBeGreaterThan(500);
    const last = estate.hostId(99_999);
    expect(estate.ids.indexOfHostId(last)).toBe(99_999);
    expect(estate.ids.lowerBoundHostId(last + 1)).toBe(100_000);
    expect(estate.truthHost(99_999).id).toBe(String(last));
  });

  it('is varied like a real estate', () => {
    const truth = generateEstate({ hosts: 400, seed: 1 });
    const hosts = truth.hosts;
    expect(hosts.some((h) => h.ip === undefined && h.ipv6 !== undefined)).toBe(true);
    expect(hosts.some((h) => h.ip !== undefined && h.ipv6 !== undefined)).toBe(true);
    expect(hosts.some((h) => h.fqdn === undefined)).toBe(true);
    expect(hosts.some((h) => h.os === undefined)).toBe(true);
    expect(hosts.some((h) => h.assetId === undefined)).toBe(true);
    expect(hosts.some((h) => h.assetCriticalityScore === undefined)).toBe(true);
    expect(hosts.some((h) => h.truriskScore === undefined)).toBe(true);
    expect(hosts.some((h) => h.interfaces.length >= 2)).toBe(true);
    expect(hosts.some((h) => h.trackingMethod === 'EC2' && h.interfaces.length > 0 && h.interfaces.every((i) => i.mac === undefined))).toBe(true);
    expect(new Set(hosts.map((h) => h.trackingMethod))).toEqual(new Set(['IP', 'DNS', 'NETBIOS', 'AGENT', 'EC2']));
    expect(hosts.some((h) => h.detections.length === 0)).toBe(true);
    const detections = hosts.flatMap((h) => h.detections);
    expect(detections.length / hosts.length).toBeGreaterThan(6);
    expect(detections.length / hosts.length).toBeLessThan(10);
    expect(new Set(detections.map((d) => d.status))).toEqual(new Set(['New', 'Active', 'Re-Opened', 'Fixed']));
    expect(detections.filter((d) => d.status === 'Fixed').every((d) => d.lastFixed !== undefined)).toBe(true);
    const cveCounts = Object.values(truth.knowledgeBase).map((e) => e.cves.length);
    expect(cveCounts).toContain(0);
    expect(cveCounts).toContain(1);
    expect(cveCounts.some((n) => n > 1)).toBe(true);
    for (const d of detections) expect(truth.knowledgeBase[d.qid]).toBeDefined();
  });
});

// -------------------------------------------------------------------------------------------------

describe('auth', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await simulator({
      hosts: 20,
      users: [
        { username: 'manager', password: 'p+ss word' },
        { username: 'no_api', password: 'x', apiAccess: false },
        { username: 'expired', password: 'x', expired: true },
        { username: 'no_kb', password: 'x', knowledgeBase: false },
      ],
    });
  });

  it('answers a bad password with 401 CODE 2000 and no rate-limit headers', async () => {
    const reply = await call(sim, HOST_LIST, { params: { action: 'list' }, auth: ['manager', 'wrong'] });
    expect(reply.status).toBe(401);
    expect(text(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'CODE')).toBe('2000');
    expect(text(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'TEXT')).toBe('Bad Login/Password');
    expect(reply.headers.get('x-ratelimit-limit')).toBeNull();
    const anonymous = await call(sim, HOST_LIST, { params: { action: 'list' }, auth: null });
    expect(anonymous.status).toBe(401);
  });

  it('treats a user without API access like a bad password', async () => {
    const reply = await call(sim, HLD, { params: { action: 'list' }, auth: ['no_api', 'x'] });
    expect(reply.status).toBe(401);
    expect(text(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'CODE')).toBe('2000');
  });

  it('refuses a call without X-Requested-With', async () => {
    const reply = await call(sim, HOST_LIST, { params: { action: 'list' }, requestedWith: false });
    expect(reply.status).toBe(400);
    expect(text(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'TEXT')).toContain('X-Requested-With');
  });

  it('answers an expired account with CODE 2001 and refuses the KnowledgeBase without permission', async () => {
    const expired = await call(sim, HOST_LIST, { params: { action: 'list' }, auth: ['expired', 'x'] });
    expect(text(expired.xml, 'SIMPLE_RETURN', 'RESPONSE', 'CODE')).toBe('2001');
    expect(text(expired.xml, 'SIMPLE_RETURN', 'RESPONSE', 'TEXT')).toBe('This account has expired.');
    const kb = await call(sim, KB, { params: { action: 'list', ids: '1' }, auth: ['no_kb', 'x'] });
    expect(kb.status).toBe(403);
    expect(text(kb.xml, 'SIMPLE_RETURN', 'RESPONSE', 'TEXT')).toContain('KnowledgeBase');
    const hostList = await call(sim, HOST_LIST, { params: { action: 'list' }, auth: ['no_kb', 'x'] });
    expect(hostList.status).toBe(200);
  });

  it('accepts a password with + and space, and form-encoded POST bodies', async () => {
    const reply = await call(sim, HOST_LIST, { form: { action: 'list', details: 'None' } });
    expect(reply.status).toBe(200);
    expect(sim.username).toBe('manager');
  });
});

// -------------------------------------------------------------------------------------------------

describe('API v2 endpoints', () => {
  let sim: RunningSimulator;
  let truth: GroundTruth;
  beforeAll(async () => {
    sim = await simulator({ hosts: 300, seed: 11, concurrencyLimit: 10, rateLimit: { calls: 10_000, windowSeconds: 3600 } });
    truth = sim.truth();
  });

  it('Host List details=None truncation_limit=0 returns every ID as an ID_SET with ID_RANGEs', async () => {
    const reply = await call(sim, HOST_LIST, { params: { action: 'list', details: 'None', truncation_limit: '0' } });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('text/xml;charset=UTF-8');
    const idSet = node(reply.xml, 'HOST_LIST_OUTPUT', 'RESPONSE', 'ID_SET');
    expect(list(idSet, 'ID_RANGE').length).toBeGreaterThan(0);
    expect(list(idSet, 'ID').length).toBeGreaterThan(0);
    expect(expandIdSet(idSet)).toEqual(truth.hosts.map((h) => Number(h.id)));
    expect(node(reply.xml, 'HOST_LIST_OUTPUT', 'RESPONSE', 'WARNING')).toBeUndefined();
  });

  it('Host List filters by ids (list and ranges), id_min and id_max; nothing selected ⇒ only DATETIME', async () => {
    const ids = truth.hosts.map((h) => Number(h.id));
    const [a, b, c, d] = [ids[3], ids[10], ids[14], ids[200]] as number[];
    const reply = await call(sim, HOST_LIST, { params: { action: 'list', details: 'None', ids: `${a},${b}-${c},${d}` } });
    expect(expandIdSet(node(reply.xml, 'HOST_LIST_OUTPUT', 'RESPONSE', 'ID_SET'))).toEqual([a, ...ids.slice(10, 15), d]);
    const bounded = await call(sim, HOST_LIST, { params: { action: 'list', details: 'None', id_min: String(b), id_max: String(c) } });
    expect(expandIdSet(node(bounded.xml, 'HOST_LIST_OUTPUT', 'RESPONSE', 'ID_SET'))).toEqual(ids.slice(10, 15));
    const none = await call(sim, HOST_LIST, { params: { action: 'list', ids: '1-5' } });
    expect(Object.keys(node(none.xml, 'HOST_LIST_OUTPUT', 'RESPONSE') as Xml)).toEqual(['DATETIME']);
  });

  it('Host List details=Basic pages with WARNING 1980 and renders the host fields', async () => {
    const seen: Xml[] = [];
    let next: string | undefined = `${HOST_LIST}?action=list&details=Basic&truncation_limit=128&show_trurisk=1&show_asset_id=1`;
    let pages = 0;
    while (next) {
      const reply = await call(sim, next);
      pages++;
      seen.push(...list(reply.xml, 'HOST_LIST_OUTPUT', 'RESPONSE', 'HOST_LIST', 'HOST'));
      const warning = node(reply.xml, 'HOST_LIST_OUTPUT', 'RESPONSE', 'WARNING');
      next = text(warning, 'URL');
      if (next) {
        expect(text(warning, 'CODE')).toBe('1980');
        expect(text(warning, 'TEXT')).toBe('128 record limit exceeded. Use URL to get next batch of results.');
        expect(reply.body).toMatch(/<URL><!\[CDATA\[http:\/\/.*id_min=\d+\]\]><\/URL>/);
      }
    }
    expect(pages).toBe(3);
    expect(seen.map((h) => text(h, 'ID'))).toEqual(truth.hosts.map((h) => h.id));
    const withDns = truth.hosts.findIndex((h) => h.fqdn !== undefined && h.truriskScore !== undefined && h.assetId !== undefined);
    const host = seen[withDns];
    const expected = truth.hosts[withDns];
    expect(text(host, 'DNS_DATA', 'FQDN')).toBe(expected?.fqdn);
    expect(text(host, 'TRURISK_SCORE')).toBe(String(expected?.truriskScore));
    expect(text(host, 'ASSET_ID')).toBe(expected?.assetId);
    expect(text(host, 'TRACKING_METHOD')).toBe(expected?.trackingMethod);
    const page = await call(sim, HOST_LIST, { params: { action: 'list', truncation_limit: '5' } });
    expect(page.body).toMatch(/<DNS><!\[CDATA\[[^\]]+\]\]><\/DNS>/);
    expect(page.body).not.toContain('TRURISK_SCORE');
  });

  it('rejects bad parameter values with 1905 and unknown parameters with 1901', async () => {
    const bad = await call(sim, HLD, { params: { action: 'list', ids: 'abc123' } });
    expect(bad.status).toBe(400);
    expect(text(bad.xml, 'SIMPLE_RETURN', 'RESPONSE', 'CODE')).toBe('1905');
    expect(text(bad.xml, 'SIMPLE_RETURN', 'RESPONSE', 'TEXT')).toBe(
      'parameter ids has invalid value: abc123 (neither a positive integer nor a range: abc123)',
    );
    const unknown = await call(sim, HLD, { params: { action: 'list', details: 'All' } });
    expect(unknown.status).toBe(400);
    expect(text(unknown.xml, 'SIMPLE_RETURN', 'RESPONSE', 'CODE')).toBe('1901');
    expect(text(unknown.xml, 'SIMPLE_RETURN', 'RESPONSE', 'TEXT')).toBe('Unrecognized parameter(s): details');
  });

  it('HLD pages by hosts with WARNING 1980 + id_min; following the URLs yields every host exactly once', async () => {
    const seen: string[] = [];
    let detections = 0;
    let next: string | undefined = `${HLD}?action=list&truncation_limit=40&show_qds=1`;
    while (next) {
      expect(seen.length === 0 || next.includes('id_min=')).toBe(true);
      const reply = await call(sim, next);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatch(/^<\?xml[^>]*>\n<!DOCTYPE[^>]*>\n<!-- CONFIDENTIAL/);
      for (const host of list(reply.xml, 'HOST_LIST_VM_DETECTION_OUTPUT', 'RESPONSE', 'HOST_LIST', 'HOST')) {
        seen.push(text(host, 'ID') ?? '');
        const list_ = list(host, 'DETECTION_LIST', 'DETECTION');
        detections += list_.length;
        for (const d of list_) {
          expect(text(d, 'STATUS')).not.toBe('Fixed');
          expect(text(d, 'UNIQUE_VULN_ID')).toMatch(/^\d+$/);
        }
      }
      next = text(reply.xml, 'HOST_LIST_VM_DETECTION_OUTPUT', 'RESPONSE', 'WARNING', 'URL');
    }
    const expectedHosts = truth.hosts.filter((h) => h.detections.some((d) => d.status !== 'Fixed'));
    expect(seen).toEqual(expectedHosts.map((h) => h.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(expectedHosts.length).toBeLessThan(truth.hosts.length); // hosts without open detections are omitted
    expect(detections).toBe(expectedHosts.flatMap((h) => h.detections).filter((d) => d.status !== 'Fixed').length);
  });

  it('HLD renders a host and its detections exactly as the ground truth says', async () => {
    const host = truth.hosts.find((h) => h.detections.some((d) => d.status === 'Fixed') && h.detections.some((d) => d.port));
    if (!host) throw new Error('estate has no suitable host');
    const reply = await call(sim, HLD, {
      form: { action: 'list', ids: host.id, status: 'New,Active,Fixed,Re-Opened', show_qds: '1', show_results: '1' },
    });
    const hosts = list(reply.xml, 'HOST_LIST_VM_DETECTION_OUTPUT', 'RESPONSE', 'HOST_LIST', 'HOST');
    expect(hosts).toHaveLength(1);
    const rendered = list(hosts[0], 'DETECTION_LIST', 'DETECTION').map((d) => ({
      qid: text(d, 'QID'),
      type: text(d, 'TYPE'),
      status: text(d, 'STATUS'),
      severity: Number(text(d, 'SEVERITY')),
      port: text(d, 'PORT'),
      protocol: text(d, 'PROTOCOL'),
      ssl: text(d, 'SSL') === '1',
      firstFound: text(d, 'FIRST_FOUND_DATETIME'),
      lastFound: text(d, 'LAST_FOUND_DATETIME'),
      lastFixed: text(d, 'LAST_FIXED_DATETIME'),
      qds: text(d, 'QDS') === undefined ? undefined : Number(text(d, 'QDS')),
      timesFound: text(d, 'TIMES_FOUND') === undefined ? undefined : Number(text(d, 'TIMES_FOUND')),
      uniqueVulnId: text(d, 'UNIQUE_VULN_ID'),
      lastUpdate: text(d, 'LAST_UPDATE_DATETIME'),
      lastProcessed: text(d, 'LAST_PROCESSED_DATETIME'),
    }));
    const strip = (o: object): object => JSON.parse(JSON.stringify(o)) as object;
    // The realistic profile leaves some optional elements out, as real answers do (wire-quirks.ts).
    const asServed = (d: (typeof host.detections)[number]): object =>
      Object.fromEntries(Object.entries(d).filter(([field]) => !detectionFieldsLeftOut(d, resolveProfile(undefined)).includes(field)));
    expect(rendered.map(strip)).toEqual(host.detections.map(asServed).map(strip));
    expect(reply.body).toContain('<RESULTS><![CDATA[');
    expect(text(hosts[0], 'IP')).toBe(host.ip);
  });

  it('KnowledgeBase lists CVE_LIST only for QIDs with CVEs; unknown QIDs give only DATETIME', async () => {
    const entries = Object.entries(truth.knowledgeBase);
    const withCves = entries.find(([, e]) => e.cves.length > 1);
    const withoutCves = entries.find(([, e]) => e.cves.length === 0);
    if (!withCves || !withoutCves) throw new Error('catalogue lacks variety');
    const reply = await call(sim, KB, { form: { action: 'list', details: 'All', ids: `${withCves[0]},${withoutCves[0]}` } });
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('<!-- keep-alive for KNOWLEDGE_BASE_VULN_LIST_OUTPUT -->');
    const vulns = list(reply.xml, 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT', 'RESPONSE', 'VULN_LIST', 'VULN');
    expect(vulns.map((v) => text(v, 'QID')).sort()).toEqual([withCves[0], withoutCves[0]].sort());
    const cveVuln = vulns.find((v) => text(v, 'QID') === withCves[0]);
    expect(list(cveVuln, 'CVE_LIST', 'CVE').map((c) => text(c, 'ID'))).toEqual(withCves[1].cves);
    expect(text(cveVuln, 'TITLE')).toBe(withCves[1].title);
    expect(text(cveVuln, 'SEVERITY_LEVEL')).toBe(String(withCves[1].severity));
    expect(node(vulns.find((v) => text(v, 'QID') === withoutCves[0]), 'CVE_LIST')).toBeUndefined();
    expect(reply.body).toMatch(/<ID><!\[CDATA\[CVE-\d{4}-\d{4,5}\]\]><\/ID>/);

    const unknown = await call(sim, KB, { params: { action: 'list', ids: '1-5' } });
    expect(Object.keys(node(unknown.xml, 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT', 'RESPONSE') as Xml)).toEqual(['DATETIME']);
    const whole = await call(sim, KB, { params: { action: 'list' } });
    expect(list(whole.xml, 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT', 'RESPONSE', 'VULN_LIST', 'VULN')).toHaveLength(entries.length);
  });
});

// -------------------------------------------------------------------------------------------------

describe('QPS hostasset', () => {
  let sim: RunningSimulator;
  let truth: GroundTruth;
  beforeAll(async () => {
    sim = await simulator({
      hosts: 150,
      seed: 5,
      concurrencyLimit: 1,
      rateLimit: { calls: 1, windowSeconds: 3600 },
      users: [{ username: 'full', password: 'pw' }, { username: 'reader', password: 'pw', assetView: false }],
    });
    truth = sim.truth();
  });

  it('pages with hasMoreRecords / lastId and id GREATER, returning every HostAsset once (no API v2 limits)', async () => {
    const assets: Xml[] = [];
    let lastId = '0';
    let pages = 0;
    for (;;) {
      const reply = await call(sim, QPS_SEARCH, { xmlBody: qpsBody(`<Criteria field="id" operator="GREATER">${lastId}</Criteria>`, 40) });
      pages++;
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-ratelimit-limit')).toBeNull();
      const response = node(reply.xml, 'ServiceResponse');
      expect(text(response, 'responseCode')).toBe('SUCCESS');
      const page = list(response, 'data', 'HostAsset');
      expect(text(response, 'count')).toBe(String(page.length));
      assets.push(...page);
      if (text(response, 'hasMoreRecords') !== 'true') break;
      lastId = text(response, 'lastId') ?? '';
      expect(lastId).toBe(text(page[page.length - 1], 'id'));
    }
    const expected = truth.hosts.filter((h) => h.assetId !== undefined);
    expect(pages).toBe(Math.ceil(expected.length / 40));
    expect(assets.map((a) => text(a, 'id'))).toEqual(expected.map((h) => h.assetId));
    expect(assets.map((a) => text(a, 'qwebHostId'))).toEqual(expected.map((h) => h.id));
    const multi = expected.findIndex((h) => h.interfaces.length >= 2);
    const interfaces = list(assets[multi], 'networkInterface', 'list', 'HostAssetInterface');
    expect(interfaces.map((i) => ({ name: text(i, 'interfaceName'), mac: text(i, 'macAddress'), address: text(i, 'address'), gateway: text(i, 'gatewayAddress') })))
      .toEqual(expected[multi]?.interfaces.map((i) => ({ name: i.name, mac: i.mac, address: i.address, gateway: i.gateway })));

    const count = await call(sim, QPS_COUNT, { xmlBody: '' });
    expect(text(count.xml, 'ServiceResponse', 'count')).toBe(String(expected.length));
  });

  it('filters by qwebHostId IN / EQUALS / LESSER', async () => {
    const picked = truth.hosts.filter((h) => h.assetId !== undefined).slice(3, 8);
    const inList = await call(sim, QPS_SEARCH, { xmlBody: qpsBody(`<Criteria field="qwebHostId" operator="IN">${picked.map((h) => h.id).join(',')}</Criteria>`) });
    expect(list(inList.xml, 'ServiceResponse', 'data', 'HostAsset').map((a) => text(a, 'qwebHostId'))).toEqual(picked.map((h) => h.id));
    const first = truth.hosts[0];
    const lesser = await call(sim, QPS_COUNT, { xmlBody: qpsBody(`<Criteria field="qwebHostId" operator="LESSER">${first?.id ?? ''}</Criteria>`) });
    expect(text(lesser.xml, 'ServiceResponse', 'count')).toBe('0');
    const missing = truth.hosts.find((h) => h.assetId === undefined);
    const none = await call(sim, QPS_SEARCH, { xmlBody: qpsBody(`<Criteria field="qwebHostId" operator="EQUALS">${missing?.id ?? ''}</Criteria>`) });
    expect(text(none.xml, 'ServiceResponse', 'count')).toBe('0');
    expect(node(none.xml, 'ServiceResponse', 'data')).toBeUndefined();
  });

  it('answers errors inside HTTP 200: INVALID_REQUEST, UNAUTHORIZED, INVALID_CREDENTIALS', async () => {
    const invalid = await call(sim, QPS_SEARCH, { xmlBody: qpsBody('<Criteria field="qwebHostId" operator="IN">abc123</Criteria>') });
    expect(invalid.status).toBe(200);
    expect(text(invalid.xml, 'ServiceResponse', 'responseCode')).toBe('INVALID_REQUEST');
    expect(text(invalid.xml, 'ServiceResponse', 'responseErrorDetails', 'errorMessage')).toBe(
      "Criteria: Invalid value format for criteria 'qwebHostId' (abc123).",
    );
    const reader = await call(sim, QPS_SEARCH, { xmlBody: '', auth: ['reader', 'pw'] });
    expect(reader.status).toBe(200);
    expect(text(reader.xml, 'ServiceResponse', 'responseCode')).toBe('UNAUTHORIZED');
    expect(text(reader.xml, 'ServiceResponse', 'responseErrorDetails', 'errorMessage')).toBe(
      'You are not authorized to access the application through the API.',
    );
    const bad = await call(sim, QPS_COUNT, { xmlBody: '', auth: ['full', 'nope'] });
    expect(bad.status).toBe(200);
    expect(text(bad.xml, 'ServiceResponse', 'responseCode')).toBe('INVALID_CREDENTIALS');
    expect(sim.stats().errorsServed['qps/UNAUTHORIZED']).toBe(1);
  });
});

// -------------------------------------------------------------------------------------------------

describe('limits', () => {
  it('with concurrency limit 2, while two slow calls run, three more get 409 CODE 1960', async () => {
    const sim = await simulator({ hosts: 30, concurrencyLimit: 2, latencyMs: 1500 });
    const running = [call(sim, HLD, { params: { action: 'list' } }), call(sim, HLD, { params: { action: 'list' } })];
    // Wait until the simulator has both (observed, not slept on); they hold their slots for 1.5 s.
    await until('two calls in flight', async () => (sim.stats().peakInFlightByEndpoint.hostDetection >= 2 ? true : undefined), 10_000);
    const more = Array.from({ length: 3 }, () => call(sim, HLD, { params: { action: 'list' } }));
    const ok = await Promise.all(running);
    const refused = await Promise.all(more);
    expect(ok.map((r) => r.status)).toEqual([200, 200]);
    expect(refused.map((r) => r.status)).toEqual([409, 409, 409]);
    for (const reply of refused) {
      expect(text(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'CODE')).toBe('1960');
      expect(text(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'TEXT')).toMatch(/^This API cannot be run again until 1 currently running API instance has finished\.$/);
      const item = list(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'ITEM_LIST', 'ITEM')[0];
      expect(text(item, 'KEY')).toBe('CALLS_TO_FINISH');
      expect(reply.headers.get('x-concurrency-limit-limit')).toBe('2');
      expect(reply.headers.get('x-concurrency-limit-running')).toBe('2');
    }
    for (const reply of ok) {
      expect(reply.headers.get('x-ratelimit-limit')).toBe('300');
      expect(reply.headers.get('x-ratelimit-window-sec')).toBe('3600');
      expect(reply.headers.get('x-ratelimit-towait-sec')).toBe('0');
    }
    // Slots free again once the responses have ended; another endpoint was never affected.
    expect((await call(sim, HLD, { params: { action: 'list' } })).status).toBe(200);
    const stats = sim.stats();
    expect(stats.calls.hostDetection).toBe(6);
    expect(stats.errorsServed['409/1960']).toBe(3);
    // A refused call was in flight beside the two running ones: at least three at once. How many of
    // the three overlapped each other is the scheduler's business, not the simulator's.
    expect(stats.peakInFlightByEndpoint.hostDetection).toBeGreaterThanOrEqual(3);
    expect(stats.peakInFlightByEndpoint.hostDetection).toBeLessThanOrEqual(5);
    expect(stats.requests.filter((r) => r.code === '1960')).toHaveLength(3);
  });

  it('counts concurrency per endpoint', async () => {
    const sim = await simulator({ hosts: 10, concurrencyLimit: 1, latencyMs: 300 });
    const replies = await Promise.all([
      call(sim, HOST_LIST, { params: { action: 'list' } }),
      call(sim, HLD, { params: { action: 'list' } }),
      call(sim, KB, { params: { action: 'list', ids: '1' } }),
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('answers the (limit+1)-th call in the window with 409 CODE 1965 and the wait in the headers', async () => {
    const sim = await simulator({ hosts: 10, rateLimit: { calls: 3, windowSeconds: 90 } });
    const started = Date.now();
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const reply = await call(sim, HOST_LIST, { params: { action: 'list' } });
      expect(reply.status).toBe(200);
      remaining.push(reply.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const blocked = await call(sim, HOST_LIST, { params: { action: 'list' } });
    expect(blocked.status).toBe(409);
    expect(text(blocked.xml, 'SIMPLE_RETURN', 'RESPONSE', 'CODE')).toBe('1965');
    const wait = Number(blocked.headers.get('x-ratelimit-towait-sec'));
    // The window minus the time these calls took, however long a loaded machine made that.
    expect(wait).toBeGreaterThanOrEqual(Math.floor(90 - (Date.now() - started) / 1000));
    expect(wait).toBeLessThanOrEqual(90);
    const item = list(blocked.xml, 'SIMPLE_RETURN', 'RESPONSE', 'ITEM_LIST', 'ITEM')[0];
    expect(text(item, 'KEY')).toBe('SECONDS_TO_WAIT');
    expect(Number(text(item, 'VALUE'))).toBe(wait);
    expect(text(blocked.xml, 'SIMPLE_RETURN', 'RESPONSE', 'TEXT')).toMatch(/^This API cannot be run again for another 1 minute and \d+ seconds\.$/);
    expect(blocked.headers.get('x-ratelimit-remaining')).toBe('0');
    // Per endpoint: the KnowledgeBase still has its own budget.
    expect((await call(sim, KB, { params: { action: 'list', ids: '1' } })).status).toBe(200);
  });

  it('lets calls through again once the oldest leaves the rolling window', async () => {
    const sim = await simulator({ hosts: 5, rateLimit: { calls: 1, windowSeconds: 3 } });
    expect((await call(sim, HOST_LIST, { params: { action: 'list' } })).status).toBe(200);
    const firstDone = Date.now();
    const blocked = await call(sim, HOST_LIST, { params: { action: 'list' } });
    expect(blocked.status).toBe(409);
    const wait = Number(blocked.headers.get('x-ratelimit-towait-sec'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(3);
    // Real time must pass for a rolling window to roll: until the first call is surely out of it.
    await new Promise((resolve) => setTimeout(resolve, firstDone + 3_000 + 50 - Date.now()));
    expect((await call(sim, HOST_LIST, { params: { action: 'list' } })).status).toBe(200);
  });
});

// -------------------------------------------------------------------------------------------------

describe('faults', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await simulator({ hosts: 60, seed: 2, concurrencyLimit: 50, rateLimit: { calls: 10_000, windowSeconds: 3600 } });
  });
  afterEach(() => sim.clearFaults());

  const hostList = (): Promise<Reply> => call(sim, HOST_LIST, { params: { action: 'list', details: 'All' } });

  it('resets the connection mid-response', async () => {
    sim.setFaults({ connectionResets: 1 });
    await expect(hostList()).rejects.toThrow();
    expect((await hostList()).status).toBe(200);
    expect(sim.stats().errorsServed['reset']).toBe(1);
  });

  it('truncates the body with valid headers', async () => {
    sim.setFaults({ truncatedBodies: 1 });
    const reply = await hostList();
    expect(reply.status).toBe(200);
    // Host details are declared ISO-8859-1 in the realistic profile (wire-quirks.ts).
    expect(reply.headers.get('content-type')).toBe(resolveProfile(undefined) === 'realistic' ? 'text/xml;charset=ISO-8859-1' : 'text/xml;charset=UTF-8');
    expect(XMLValidator.validate(reply.body)).not.toBe(true);
    const whole = await hostList();
    expect(reply.body.length).toBeLessThan(whole.body.length);
    expect(XMLValidator.validate(whole.body)).toBe(true);
  });

  it('serves malformed XML', async () => {
    sim.setFaults({ malformedXml: 1 });
    const reply = await hostList();
    expect(reply.status).toBe(200);
    expect(XMLValidator.validate(reply.body)).not.toBe(true);
    expect(sim.stats().errorsServed['malformed']).toBe(1);
  });

  it("serves a proxy's HTML error page and 5xx bodies", async () => {
    sim.setFaults({ htmlErrorPages: 1 });
    const html = await hostList();
    expect(html.status).toBe(502);
    expect(html.headers.get('content-type')).toBe('text/html');
    expect(html.body).toContain('<title>502 Bad Gateway</title>');

    sim.setFaults([{ serverErrors: 1 }, { serverErrors: 1, serverErrorStatus: 500 }]);
    const maintenance = await hostList();
    expect(maintenance.status).toBe(503);
    const internal = await hostList();
    expect(internal.status).toBe(500);
    expect(internal.body).toContain('<RETURN status="FAILED" number="999">');
    expect((await hostList()).status).toBe(200);
  });

  it('serves bursts of 409 1960 and 1965 (with the given wait), scoped to an endpoint', async () => {
    sim.setFaults({ endpoint: 'hostDetection', concurrencyLimitErrors: 2, rateLimitErrors: 1, rateLimitWaitSeconds: 1234 });
    expect((await hostList()).status).toBe(200); // other endpoints unaffected
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await call(sim, HLD, { params: { action: 'list' } });
      expect(reply.status).toBe(409);
      codes.push(text(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'CODE') ?? '');
      if (i === 2) {
        expect(reply.headers.get('x-ratelimit-towait-sec')).toBe('1234');
        const item = list(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'ITEM_LIST', 'ITEM')[0];
        expect(text(item, 'VALUE')).toBe('1234');
        expect(text(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'TEXT')).toBe('This API cannot be run again for another 20 minutes and 34 seconds.');
      }
    }
    expect(codes).toEqual(['1960', '1960', '1965']);
    // The refusal is the limiter's own state: the next call is refused too, and its headers agree.
    const next = await call(sim, HLD, { params: { action: 'list' } });
    expect(next.status).toBe(409);
    expect(text(next.xml, 'SIMPLE_RETURN', 'RESPONSE', 'CODE')).toBe('1965');
    expect(next.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(next.headers.get('x-ratelimit-towait-sec'))).toBeGreaterThan(1200);
    expect(Number(next.headers.get('x-ratelimit-towait-sec'))).toBeLessThanOrEqual(1234);
  });

  it('adds latency and can be switched over HTTP', async () => {
    const post = await fetch(`${sim.url}/__sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: 'hostList', latencyMs: 250 }),
    });
    expect(post.status).toBe(200);
    // What the simulator added to each call, from its own log: a slow machine cannot change it.
    const servedMs = (): number | undefined => sim.stats().requests.at(-1)?.servedMs;
    const started = Date.now();
    await hostList();
    expect(servedMs()).toBe(250);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240); // a lower bound: timers never fire early
    await call(sim, KB, { params: { action: 'list', ids: '1' } });
    expect(servedMs()).toBe(0);
    expect((await fetch(`${sim.url}/__sim/faults`, { method: 'DELETE' })).status).toBe(200);
    await hostList();
    expect(servedMs()).toBe(0);
    const bad = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ connectionResetz: 1 }) });
    expect(bad.status).toBe(400);
  });
});

// -------------------------------------------------------------------------------------------------

describe('latency', () => {
  it('streams the body at the per-KiB rate: the last byte leaves the server time after the request, the body whole', async () => {
    const options = { hosts: 40, seed: 3, concurrencyLimit: 50, rateLimit: { calls: 10_000, windowSeconds: 3600 } };
    const paced = await simulator({ ...options, latencyMs: 50, latencyPerKbMs: 4 });
    const instant = await simulator(options);
    const form = { action: 'list', show_results: '0' };
    const startedAt = Date.now();
    const reply = await call(paced, HLD, { form });
    const elapsed = Date.now() - startedAt;
    const served = paced.stats().requests.at(-1);
    // The model's server time: the base latency plus the per-KiB rate over the body's bytes.
    expect(served?.servedMs).toBeCloseTo(50 + (4 * (served?.bytes ?? 0)) / 1024, 6);
    expect(served?.bytes).toBeGreaterThan(10 * 1024); // long enough to stream over some 40 ms at least
    // A lower bound only: timers never fire early, and the last byte waits for its time.
    expect(elapsed).toBeGreaterThanOrEqual(Math.floor(served?.servedMs ?? 0) - 2);
    expect(reply.status).toBe(200);
    const hostsOf = (r: Reply): unknown => (r.xml['HOST_LIST_VM_DETECTION_OUTPUT'] as Xml)['RESPONSE'];
    const whole = await call(instant, HLD, { form });
    expect({ ...(hostsOf(reply) as Xml), DATETIME: '' }).toEqual({ ...(hostsOf(whole) as Xml), DATETIME: '' });
  });
});

describe('stats and control endpoints', () => {
  it('counts API calls (not /__sim) with params, errors and peaks; resets; serves truth as JSON', async () => {
    const sim = await simulator({ hosts: 25, seed: 9 });
    await call(sim, HOST_LIST, { params: { action: 'list', details: 'None' } });
    await call(sim, HLD, { form: { action: 'list', ids: '1-2', id_min: '1' } });
    await call(sim, HLD, { params: { action: 'list' }, auth: ['x', 'y'] });
    await call(sim, QPS_COUNT, { xmlBody: qpsBody('<Criteria field="qwebHostId" operator="GREATER">5</Criteria>') });
    const response = await fetch(`${sim.url}/__sim/stats`);
    const stats = (await response.json()) as ReturnType<RunningSimulator['stats']>;
    const calls: Record<Endpoint, number> = { hostList: 1, hostDetection: 2, knowledgeBase: 0, hostAssetSearch: 0, hostAssetCount: 1 };
    expect(stats.calls).toEqual(calls);
    expect(stats.errorsServed).toEqual({ '401/2000': 1 });
    expect(stats.requests.map((r) => [r.endpoint, r.status])).toEqual([['hostList', 200], ['hostDetection', 200], ['hostDetection', 401], ['hostAssetCount', 200]]);
    expect(stats.requests[1]?.params).toEqual({ action: 'list', ids: '1-2', id_min: '1' });
    expect(stats.requests[3]?.params).toMatchObject({ 'qwebHostId GREATER': '5' });
    expect(stats.peakInFlight).toBe(1);

    expect((await fetch(`${sim.url}/__sim/reset-stats`, { method: 'POST' })).status).toBe(200);
    expect(sim.stats().calls.hostList).toBe(0);
    expect(sim.stats().requests).toHaveLength(0);

    const truth = (await (await fetch(`${sim.url}/__sim/truth`)).json()) as GroundTruth;
    expect(truth).toEqual(generateEstate({ hosts: 25, seed: 9 }));
    expect(sim.stats().calls.hostList).toBe(0);
  });
});
