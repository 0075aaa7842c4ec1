/**
 * The simulator's realistic profile and the protocol details issue 11 asked for: UTF-8 text cut across
 * chunks, long-tail RESULTS, full KnowledgeBase VULNs, rich host assets per kind, comments after the
 * root, compression on request, 1901/1905 on every endpoint, limit headers that agree with the
 * limiter after an injected refusal, and Host List / HLD filters answered truthfully.
 */
import { Estate, generateEstate, type GroundTruth, resolveProfile, type RunningSimulator, startSimulator } from '../../simulator';
import { chunkCuts, negotiateEncoding } from '../../simulator/serve-body';
import { MAX_RESULTS_BYTES, resultsSize } from '../../simulator/results-text';
import { Random } from '../../simulator/random';
import { HLD, HOST_LIST, KB, list, node, QPS_SEARCH, text, wire, type WireReply, type Xml } from './simulator-wire';

const started: RunningSimulator[] = [];
async function simulator(options: Parameters<typeof startSimulator>[0]): Promise<RunningSimulator> {
  const sim = await startSimulator({ rateLimit: { calls: 100_000, windowSeconds: 3600 }, concurrencyLimit: 20, ...options });
  started.push(sim);
  return sim;
}
afterAll(async () => {
  await Promise.all(started.map((sim) => sim.close()));
});

const code = (reply: WireReply): string | undefined => text(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'CODE');
const message = (reply: WireReply): string | undefined => text(reply.xml, 'SIMPLE_RETURN', 'RESPONSE', 'TEXT');
const hldHosts = (reply: WireReply): Xml[] => list(reply.xml, 'HOST_LIST_VM_DETECTION_OUTPUT', 'RESPONSE', 'HOST_LIST', 'HOST');
const hostListIds = (reply: WireReply): string[] =>
  list(reply.xml, 'HOST_LIST_OUTPUT', 'RESPONSE', 'HOST_LIST', 'HOST').map((h) => text(h, 'ID') ?? '');
const byNumber = (a: string, b: string): number => Number(a) - Number(b);

/** Whether a chunk ends inside a multi-byte UTF-8 character (its last bytes start one that continues). */
function endsMidCharacter(chunk: Buffer): boolean {
  for (let back = 1; back <= Math.min(4, chunk.length); back++) {
    const byte = chunk[chunk.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    if (byte < 0x80) return false;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    return back < length;
  }
  return false;
}

describe('profiles', () => {
  it('the default is realistic, QUALYS_SIM_PROFILE picks another, an explicit profile wins, a bad name is refused', () => {
    expect(resolveProfile(undefined, {})).toBe('realistic');
    expect(resolveProfile(undefined, { QUALYS_SIM_PROFILE: 'minimal' })).toBe('minimal');
    expect(resolveProfile('realistic', { QUALYS_SIM_PROFILE: 'minimal' })).toBe('realistic');
    expect(() => resolveProfile(undefined, { QUALYS_SIM_PROFILE: 'messy' })).toThrow(/QUALYS_SIM_PROFILE must be one of realistic, minimal/);
  });

  it('share one estate: same hosts, detections and CVE mapping; only the content differs', () => {
    const realistic = generateEstate({ hosts: 300, seed: 4, profile: 'realistic' });
    const minimal = generateEstate({ hosts: 300, seed: 4, profile: 'minimal' });
    const shape = (truth: GroundTruth): unknown =>
      truth.hosts.map((h) => [h.id, h.trackingMethod, h.ip, h.detections.map((d) => [d.uniqueVulnId, d.qid, d.status, d.lastFound])]);
    expect(shape(realistic)).toEqual(shape(minimal));
    const cves = (truth: GroundTruth): unknown => Object.entries(truth.knowledgeBase).map(([qid, e]) => [qid, e.cves]);
    expect(cves(realistic)).toEqual(cves(minimal));
    // Content: localized OS captions, cloud identities with their MAC, vendor references.
    expect(realistic.hosts.some((h) => /[^\x00-\x7e]/.test(h.os ?? ''))).toBe(true);
    expect(minimal.hosts.every((h) => !/[^\x00-\x7e]/.test(h.os ?? ''))).toBe(true);
    expect(new Set(realistic.hosts.map((h) => h.cloudProvider).filter(Boolean))).toEqual(new Set(['AWS', 'Azure', 'GCP']));
    expect(minimal.hosts.every((h) => h.cloudMacAddress === undefined)).toBe(true);
  });

  it('costs no disk and little memory at 100 000 hosts', () => {
    const estate = new Estate({ hosts: 100_000, seed: 3, profile: 'realistic' });
    const last = estate.truthHost(99_999);
    expect(last.id).toBe(String(estate.hostId(99_999)));
    // Nothing per host is stored: the estate holds the ID space, the KB and the (empty) changes.
    expect(estate.size).toBe(100_000);
  });
});

describe('UTF-8 text and chunks', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await simulator({ hosts: 400, seed: 8, profile: 'realistic' });
  });

  it('cuts chunks inside multi-byte characters wherever one is near', () => {
    const body = Buffer.from(`${'a'.repeat(100)}é${'b'.repeat(120)}東${'c'.repeat(100)}🔥${'d'.repeat(10)}`, 'utf8');
    const cuts = chunkCuts(body, 100, true, 64);
    expect(cuts).toEqual([101, 223, 326]);
    for (const cut of cuts) expect(endsMidCharacter(body.subarray(0, cut))).toBe(true);
    // No multi-byte character within reach: cut at the size.
    expect(chunkCuts(Buffer.from('x'.repeat(250)), 100, true)).toEqual([100, 200]);
    // Compressed bodies are cut at the size, characters mean nothing there.
    expect(chunkCuts(body, 100, false)).toEqual([100, 200, 300]);
  });

  it('serves host names, OS strings, titles, results and tags in UTF-8, split across the chunks a client receives', async () => {
    const reply = await wire(sim, HLD, { form: { action: 'list', show_results: '1', truncation_limit: '0' }, acceptEncoding: 'identity' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-encoding']).toBeUndefined();
    expect(reply.chunks.length).toBeGreaterThan(10);
    // Decoding each chunk on its own breaks characters; decoding the whole body does not.
    expect(reply.chunks.filter(endsMidCharacter).length).toBeGreaterThan(0);
    expect(reply.chunks.map((c) => c.toString('utf8')).join('')).toContain('\ufffd');
    expect(reply.body).not.toContain('\ufffd');
    expect(reply.body).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/); // CJK
    expect(reply.body).toMatch(/[\u{1F300}-\u{1FAFF}]/u); // emoji
    expect(reply.body).toMatch(/[éüçà]/);
    const truth = sim.truth();
    const localized = truth.hosts.find((h) => /[^\x00-\x7e]/.test(h.os ?? '') && h.detections.some((d) => d.status !== 'Fixed'));
    const served = hldHosts(reply).find((h) => text(h, 'ID') === localized?.id);
    expect(text(served, 'OS')).toBe(localized?.os);
  });

  it('draws RESULTS sizes from a long tail, bytes to ~1 MB, and honours show_results=0', async () => {
    const r = new Random(1, 2, 3);
    const sizes = Array.from({ length: 40_000 }, () => resultsSize(r)).sort((a, b) => a - b);
    expect(sizes[0]).toBeLessThan(50);
    expect(sizes[Math.floor(sizes.length / 2)]).toBeLessThan(400);
    expect(sizes[sizes.length - 1]).toBeGreaterThan(300_000);
    expect(sizes[sizes.length - 1]).toBeLessThanOrEqual(MAX_RESULTS_BYTES);

    const withResults = await wire(sim, HLD, { form: { action: 'list', show_results: '1', truncation_limit: '0' } });
    const results = hldHosts(withResults).flatMap((h) => list(h, 'DETECTION_LIST', 'DETECTION')).map((d) => text(d, 'RESULTS') ?? '');
    const served = results.map((r) => Buffer.byteLength(r)).sort((a, b) => a - b);
    expect(served[0]).toBeLessThan(200);
    expect(served[served.length - 1]).toBeGreaterThan(6_000);
    const without = await wire(sim, HLD, { form: { action: 'list', show_results: '0', truncation_limit: '0' } });
    expect(without.body).not.toContain('<RESULTS>');
    expect(hldHosts(without).length).toBe(hldHosts(withResults).length);
  });
});

describe('KnowledgeBase VULNs as Qualys sends them', () => {
  let sim: RunningSimulator;
  let truth: GroundTruth;
  let all: WireReply;
  beforeAll(async () => {
    sim = await simulator({ hosts: 50, seed: 13, profile: 'realistic' });
    truth = sim.truth();
    all = await wire(sim, KB, { form: { action: 'list', details: 'All' } });
  });
  const vulns = (): Xml[] => list(all.xml, 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT', 'RESPONSE', 'VULN_LIST', 'VULN');

  it('carries vendor references, Bugtraq, software, CVSS v2/v3 with attributes, threat intelligence, correlation and authentication types', () => {
    const has = (path: string[]): boolean => vulns().some((v) => node(v, ...path) !== undefined);
    for (const path of [
      ['VENDOR_REFERENCE_LIST', 'VENDOR_REFERENCE'],
      ['BUGTRAQ_LIST', 'BUGTRAQ'],
      ['SOFTWARE_LIST', 'SOFTWARE'],
      ['CVSS', 'VECTOR_STRING'],
      ['CVSS', 'ACCESS', 'VECTOR'],
      ['CVSS_V3', 'ATTACK', 'COMPLEXITY'],
      ['THREAT_INTELLIGENCE', 'THREAT_INTEL'],
      ['CORRELATION', 'EXPLOITS', 'EXPLT_SRC'],
      ['DISCOVERY', 'AUTH_TYPE_LIST', 'AUTH_TYPE'],
    ]) expect([path.join('/'), has(path)]).toEqual([path.join('/'), true]);
    const withBase = vulns().find((v) => node(v, 'CVSS', 'BASE') !== undefined);
    expect(node(withBase, 'CVSS', 'BASE', '@_source')).toBe('service');
    const intel = vulns().flatMap((v) => list(v, 'THREAT_INTELLIGENCE', 'THREAT_INTEL'));
    expect(intel.every((t) => /^\d+$/.test(String(t['@_id'])) && /^[A-Za-z_]+$/.test(String(t['#text'])))).toBe(true);
    expect(all.body).toMatch(/<TITLE><!\[CDATA\[[^\]]*[®–“][^\]]*\]\]><\/TITLE>/);
  });

  it('has QIDs whose only IDs are vendor references, and keeps VULN children in the DTD order', () => {
    const vendorOnly = Object.entries(truth.knowledgeBase).filter(([, e]) => e.cves.length === 0 && (e.vendorReferences?.length ?? 0) > 0);
    expect(vendorOnly.length).toBeGreaterThan(50);
    const served = vulns().find((v) => text(v, 'QID') === vendorOnly[0]?.[0]);
    expect(node(served, 'CVE_LIST')).toBeUndefined();
    expect(list(served, 'VENDOR_REFERENCE_LIST', 'VENDOR_REFERENCE').map((r) => text(r, 'ID'))).toEqual(vendorOnly[0]?.[1].vendorReferences);
    // knowledge_base_vuln_list_output.dtd order (the elements the simulator writes).
    const order = [
      'QID', 'VULN_TYPE', 'SEVERITY_LEVEL', 'TITLE', 'CATEGORY', 'LAST_SERVICE_MODIFICATION_DATETIME', 'PUBLISHED_DATETIME',
      'BUGTRAQ_LIST', 'PATCHABLE', 'SOFTWARE_LIST', 'VENDOR_REFERENCE_LIST', 'CVE_LIST', 'DIAGNOSIS', 'CONSEQUENCE', 'SOLUTION',
      'CORRELATION', 'CVSS', 'CVSS_V3', 'PCI_FLAG', 'PCI_REASONS', 'THREAT_INTELLIGENCE', 'DISCOVERY',
    ];
    const blocks = all.body.split('<VULN>').slice(1);
    for (const block of blocks.slice(0, 200)) {
      const children = [...block.matchAll(/^ {8}<([A-Z_0-9]+)[ >]/gm)].map((m) => m[1] ?? '');
      const positions = children.map((c) => order.indexOf(c));
      expect(positions.every((p) => p >= 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    }
  });

  it('details=Basic still carries the identifying lists that share ID/URL with CVE_LIST', async () => {
    const basic = await wire(sim, KB, { form: { action: 'list' } });
    expect(basic.body).toContain('<VENDOR_REFERENCE_LIST>');
    expect(basic.body).toContain('<BUGTRAQ_LIST>');
    expect(basic.body).not.toContain('<DIAGNOSIS>');
  });
});

describe('host assets per kind of asset', () => {
  let sim: RunningSimulator;
  let truth: GroundTruth;
  let assets: Xml[];
  beforeAll(async () => {
    sim = await simulator({ hosts: 400, seed: 6, profile: 'realistic' });
    truth = sim.truth();
    const reply = await wire(sim, QPS_SEARCH, { xmlBody: '<ServiceRequest><preferences><limitResults>1000</limitResults></preferences></ServiceRequest>' });
    assets = list(reply.xml, 'ServiceResponse', 'data', 'HostAsset');
  });
  const assetOf = (hostId: string | undefined): Xml | undefined => assets.find((a) => text(a, 'qwebHostId') === hostId);

  it('agents have agentInfo, a Cloud Agent tag and software; scanner-found hosts have open ports and no agentInfo', () => {
    const agents = truth.hosts.filter((h) => h.trackingMethod === 'AGENT').map((h) => assetOf(h.id));
    expect(agents.every((a) => text(a, 'agentInfo', 'agentId') !== undefined)).toBe(true);
    expect(agents.every((a) => list(a, 'tags', 'list', 'TagSimple').some((t) => text(t, 'name') === 'Cloud Agent'))).toBe(true);
    const softwareCounts = agents.map((a) => list(a, 'software', 'list', 'HostAssetSoftware').length);
    expect(Math.min(...softwareCounts)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...softwareCounts)).toBeGreaterThan(150);
    const scanned = truth.hosts.filter((h) => h.trackingMethod === 'IP' && h.assetId !== undefined && !h.cloudProvider).map((h) => assetOf(h.id));
    expect(scanned.every((a) => node(a, 'agentInfo') === undefined)).toBe(true);
    expect(scanned.every((a) => list(a, 'openPort', 'list', 'HostAssetOpenPort').length > 0)).toBe(true);
    const tags = assets.flatMap((a) => list(a, 'tags', 'list', 'TagSimple').map((t) => text(t, 'name') ?? ''));
    expect(tags.some((t) => /[^\x00-\x7e]/.test(t))).toBe(true);
  });

  it('EC2, Azure and GCP instances carry their MAC only in sourceInfo, in each connector’s format', () => {
    for (const provider of ['AWS', 'Azure', 'GCP'] as const) {
      const host = truth.hosts.find((h) => h.cloudProvider === provider && h.assetId !== undefined);
      const asset = assetOf(host?.id);
      const element = { AWS: 'Ec2AssetSourceSimple', Azure: 'AzureAssetSourceSimple', GCP: 'GcpAssetSourceSimple' }[provider];
      const source = node(asset, 'sourceInfo', 'list', element);
      expect(text(source, 'macAddress')).toBe(host?.cloudMacAddress);
      expect(list(asset, 'networkInterface', 'list', 'HostAssetInterface').every((i) => text(i, 'macAddress') === undefined)).toBe(true);
      expect(host?.interfaces.every((i) => i.mac === undefined)).toBe(true);
    }
    expect(truth.hosts.find((h) => h.cloudProvider === 'Azure')?.cloudMacAddress).toMatch(/^00-0D-3A(-[0-9A-F]{2}){3}$/);
    expect(truth.hosts.find((h) => h.cloudProvider === 'GCP')?.cloudMacAddress).toMatch(/^42:01(:[0-9a-f]{2}){4}$/);
  });
});

describe('wire details', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await simulator({ hosts: 60, seed: 3, profile: 'realistic' });
  });

  it('negotiates gzip or deflate from Accept-Encoding, identity otherwise', () => {
    expect(negotiateEncoding('gzip, deflate')).toBe('gzip');
    expect(negotiateEncoding('deflate')).toBe('deflate');
    expect(negotiateEncoding('gzip;q=0.2, deflate;q=0.8')).toBe('deflate');
    expect(negotiateEncoding('gzip;q=0, br')).toBe('identity');
    expect(negotiateEncoding(undefined)).toBe('identity');
  });

  it.each([
    ['gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['identity', undefined],
  ])('Accept-Encoding %s → Content-Encoding %s, the same XML', async (asked, answered) => {
    const reply = await wire(sim, HOST_LIST, { params: { action: 'list', details: 'All' }, acceptEncoding: asked });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-encoding']).toBe(answered);
    expect(hostListIds(reply)).toHaveLength(60);
    expect(sim.stats().requests.at(-1)?.contentEncoding).toBe(answered);
  });

  it('the minimal profile always answers identity', async () => {
    const minimal = await simulator({ hosts: 5, profile: 'minimal' });
    const reply = await wire(minimal, HOST_LIST, { params: { action: 'list' }, acceptEncoding: 'gzip' });
    expect(reply.headers['content-encoding']).toBeUndefined();
  });

  it.each([
    [HOST_LIST, 'HOST_LIST_OUTPUT', { action: 'list' }],
    [HLD, 'HOST_LIST_VM_DETECTION_OUTPUT', { action: 'list' }],
    [KB, 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT', { action: 'list', ids: '1-99999' }],
  ])('%s ends with banner and keep-alive comments after the closing root', async (path, root, params) => {
    const reply = await wire(sim, path, { params });
    expect(reply.body).toMatch(new RegExp(`</${root}>\\n<!-- CONFIDENTIAL AND PROPRIETARY[^]*-->\\n<!-- keep-alive for ${root} -->\\n$`));
  });
});

describe('parameters: 1901 for unknown names, 1905 naming the parameter for malformed values, on every endpoint', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await simulator({ hosts: 20, seed: 2 });
  });

  it.each([
    [HOST_LIST, 'vm_scan_since', 'not-a-date'],
    [HOST_LIST, 'os_pattern', '(unclosed'],
    [HOST_LIST, 'ips', '10.0.0.300'],
    [HOST_LIST, 'show_trurisk', 'yes'],
    [HLD, 'detection_updated_since', '2025-13-45'],
    [HLD, 'vm_processed_after', 'yesterday'],
    [HLD, 'status', 'New,Closed'],
    [HLD, 'show_results', '2'],
    [KB, 'last_modified_after', '31/10/2025'],
    [KB, 'details', 'Everything'],
  ])('%s %s=%s → 400 CODE 1905', async (path, name, value) => {
    const reply = await wire(sim, path, { params: { action: 'list', [name]: value } });
    expect(reply.status).toBe(400);
    expect(code(reply)).toBe('1905');
    expect(message(reply)).toBe(`parameter ${name} has invalid value: ${value}`);
    // A 400 counts as a call and carries the limiter's headers.
    expect(reply.headers['x-ratelimit-limit']).toBe('100000');
  });

  it.each([HOST_LIST, HLD, KB])('%s with an unknown parameter → 400 CODE 1901 naming it', async (path) => {
    const reply = await wire(sim, path, { params: { action: 'list', show_everything: '1', colour: 'blue' } });
    expect(reply.status).toBe(400);
    expect(code(reply)).toBe('1901');
    expect(message(reply)).toBe('Unrecognized parameter(s): show_everything,colour');
  });
});

describe('limit headers agree with the limiter on every response', () => {
  it('after an injected 1965 the endpoint stays refused for the announced wait, with Remaining 0, then recovers', async () => {
    const sim = await simulator({ hosts: 10, rateLimit: { calls: 50, windowSeconds: 3600 } });
    const first = await wire(sim, HOST_LIST, { params: { action: 'list' } });
    expect(first.headers['x-ratelimit-remaining']).toBe('49');
    sim.setFaults({ endpoint: 'hostList', rateLimitErrors: 1, rateLimitWaitSeconds: 1 });
    const refused = await wire(sim, HOST_LIST, { params: { action: 'list' } });
    expect([refused.status, code(refused)]).toEqual([409, '1965']);
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    expect(refused.headers['x-ratelimit-towait-sec']).toBe('1');
    const right = await wire(sim, HOST_LIST, { params: { action: 'list' } });
    expect([right.status, code(right), right.headers['x-ratelimit-remaining']]).toEqual([409, '1965', '0']);
    expect(right.headers['x-ratelimit-towait-sec']).toBe('1');
    // Another endpoint keeps its own budget meanwhile.
    expect((await wire(sim, KB, { params: { action: 'list', ids: '1' } })).headers['x-ratelimit-remaining']).toBe('49');
    // Waiting as told (from when the refusal arrived) is enough; refusals never counted as calls.
    await new Promise((resolve) => setTimeout(resolve, 1050));
    const after = await wire(sim, HOST_LIST, { params: { action: 'list' } });
    expect([after.status, after.headers['x-ratelimit-remaining'], after.headers['x-ratelimit-towait-sec']]).toEqual([200, '48', '0']);
  });
});

describe('Host List and Host List Detection filters answer truthfully', () => {
  let sim: RunningSimulator;
  let before: GroundTruth;
  let truth: GroundTruth;
  let advancedFrom: string;
  let advancedTo: string;
  const qualysTime = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

  beforeAll(async () => {
    sim = await simulator({ hosts: 500, seed: 19, profile: 'realistic' });
    before = sim.truth();
    advancedFrom = qualysTime(Date.now() - 1000);
    sim.advance({ changedShare: 0.05, addedShare: 0.02, removedShare: 0.01 });
    advancedTo = qualysTime(Date.now() + 1000);
    truth = sim.truth();
  });

  const allIds = (): string[] => truth.hosts.map((h) => h.id);
  const hostList = async (params: Record<string, string>): Promise<string[]> =>
    hostListIds(await wire(sim, HOST_LIST, { params: { action: 'list', details: 'Basic', truncation_limit: '0', ...params } }));
  const detectionIds = async (params: Record<string, string>): Promise<string[]> => {
    const reply = await wire(sim, HLD, { params: { action: 'list', truncation_limit: '0', status: 'New,Active,Re-Opened,Fixed', ...params } });
    return hldHosts(reply).flatMap((h) => list(h, 'DETECTION_LIST', 'DETECTION').map((d) => text(d, 'UNIQUE_VULN_ID') ?? '')).sort(byNumber);
  };

  it('ids, id_min and id_max', async () => {
    const ids = allIds();
    expect(await hostList({ ids: `${ids[2]},${ids[5]}-${ids[9]}` })).toEqual([ids[2], ...ids.filter((id) => Number(id) >= Number(ids[5]) && Number(id) <= Number(ids[9]))]);
    expect(await hostList({ id_min: ids[100] ?? '', id_max: ids[120] ?? '' })).toEqual(ids.slice(100, 121));
  });

  it('vm_scan_since and no_vm_scan_since split the hosts by their last scan', async () => {
    const since = '2025-10-20';
    const scannedSince = truth.hosts.filter((h) => h.lastVmScan !== undefined && h.lastVmScan >= `${since}T00:00:00Z`).map((h) => h.id);
    expect(await hostList({ vm_scan_since: since })).toEqual(scannedSince);
    const notSince = await hostList({ no_vm_scan_since: since });
    expect([...scannedSince, ...notSince].sort(byNumber)).toEqual(allIds());
    expect(scannedSince.length).toBeGreaterThan(50);
    expect(notSince.length).toBeGreaterThan(50);
  });

  it('vm_processed_after/before find exactly the hosts the advance added or changed, by its wall clock', async () => {
    const touched = truth.hosts.filter((h) => h.lastProcessedAt !== undefined).map((h) => h.id);
    expect(touched.length).toBeGreaterThan(20);
    expect(await hostList({ vm_processed_after: advancedFrom })).toEqual(touched);
    expect(await hostList({ vm_processed_after: advancedFrom, vm_processed_before: advancedTo })).toEqual(touched);
    expect(await hostList({ vm_processed_after: advancedTo })).toEqual([]);
    const hld = await wire(sim, HLD, { params: { action: 'list', truncation_limit: '0', vm_processed_after: advancedFrom } });
    const withOpen = new Set(truth.hosts.filter((h) => h.detections.some((d) => d.status !== 'Fixed')).map((h) => h.id));
    expect(hldHosts(hld).map((h) => text(h, 'ID'))).toEqual(touched.filter((id) => withOpen.has(id)));
  });

  it('detection_updated_since/before and detection_processed_after find exactly the detections the advance changed or added', async () => {
    const previous = new Map(before.hosts.flatMap((h) => h.detections.map((d) => [d.uniqueVulnId, d.status] as const)));
    const changed = truth.hosts
      .flatMap((h) => h.detections)
      .filter((d) => previous.get(d.uniqueVulnId) !== d.status)
      .map((d) => d.uniqueVulnId)
      .sort(byNumber);
    expect(changed.length).toBeGreaterThan(20);
    expect(await detectionIds({ detection_updated_since: advancedFrom })).toEqual(changed);
    expect(await detectionIds({ detection_processed_after: advancedFrom })).toEqual(changed);
    const older = await detectionIds({ detection_updated_before: advancedFrom });
    const every = truth.hosts.flatMap((h) => h.detections.map((d) => d.uniqueVulnId)).sort(byNumber);
    expect([...older, ...changed].sort(byNumber)).toEqual(every);
  });

  it('os_pattern (a regular expression, UTF-8 included) and ips (addresses, ranges, CIDR blocks)', async () => {
    const localized = truth.hosts.filter((h) => /企业版|Professionnel/.test(h.os ?? '')).map((h) => h.id);
    expect(localized.length).toBeGreaterThan(0);
    expect(await hostList({ os_pattern: '企业版|Professionnel' })).toEqual(localized);
    expect(await hostList({ os_pattern: '^$' })).toEqual(truth.hosts.filter((h) => h.os === undefined).map((h) => h.id));
    const withIp = truth.hosts.filter((h) => h.ip !== undefined);
    const [a, b] = [withIp[3]?.ip ?? '', withIp[40]?.ip ?? ''];
    expect(await hostList({ ips: `${a},${b}` })).toEqual([withIp[3]?.id, withIp[40]?.id]);
    const subnet = (a.split('.').slice(0, 3).join('.'));
    const inSubnet = withIp.filter((h) => h.ip?.startsWith(`${subnet}.`)).map((h) => h.id);
    expect(await hostList({ ips: `${subnet}.0/24` })).toEqual(inSubnet);
    expect(await hostList({ ips: `${subnet}.0-${subnet}.255` })).toEqual(inSubnet);
  });

  it('status and the default without Fixed', async () => {
    const fixed = truth.hosts.flatMap((h) => h.detections.filter((d) => d.status === 'Fixed').map((d) => d.uniqueVulnId)).sort(byNumber);
    expect(await detectionIds({ status: 'Fixed' })).toEqual(fixed);
    const reply = await wire(sim, HLD, { params: { action: 'list', truncation_limit: '0' } });
    const statuses = new Set(hldHosts(reply).flatMap((h) => list(h, 'DETECTION_LIST', 'DETECTION').map((d) => text(d, 'STATUS'))));
    expect(statuses.has('Fixed')).toBe(false);
  });
});
