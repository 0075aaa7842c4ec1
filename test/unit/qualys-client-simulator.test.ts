// The Qualys client against the project's Qualys simulator, every endpoint compared with the simulator's truth.
import { resolveProfile, startSimulator, type GroundTruth, type RunningSimulator } from '../../simulator';
import { detectionFieldsLeftOut } from '../../simulator/wire-quirks';
import { QualysClient, type QualysCallEvent } from '../../src/qualys/client';
import { qualysFailure } from './fixtures/qualys/qualys-failure';

let sim: RunningSimulator;
let truth: GroundTruth;
let client: QualysClient;
let events: QualysCallEvent[];

const byNumber = (a: string, b: string): number => Number(a) - Number(b);

beforeAll(async () => {
  sim = await startSimulator({
    hosts: 60,
    seed: 11,
    detectionsPerHost: 4,
    rateLimit: { calls: 10_000, windowSeconds: 3600 },
    users: [
      { username: 'demo_api_user', password: 'sim-Passw0rd+2025' },
      { username: 'no_asset_view', password: 'pw-no-av-1', assetView: false },
      { username: 'no_kb', password: 'pw-no-kb-1', knowledgeBase: false },
      { username: 'expired_user', password: 'pw-expired-1', expired: true },
      { username: 'no_api', password: 'pw-no-api-1', apiAccess: false },
    ],
  });
  truth = sim.truth();
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.clearFaults();
  events = [];
  client = new QualysClient(
    { apiUrl: sim.url, username: sim.username, password: sim.password },
    { onCall: (event) => events.push(event) },
  );
});

afterEach(async () => {
  await client.close();
});

function fullRange(): { idMin: number; idMax: number } {
  const ids = truth.hosts.map((h) => Number(h.id));
  return { idMin: Math.min(...ids), idMax: Math.max(...ids) };
}

const failure = qualysFailure;

describe('every endpoint matches the simulator truth', () => {
  it('listHostIds returns every host ID, ascending', async () => {
    const expected = truth.hosts.map((h) => Number(h.id)).sort((a, b) => a - b);
    expect(await client.listHostIds()).toEqual(expected);
    const limits = client.subscriptionLimits();
    expect(limits?.concurrencyLimit).toBe(2);
    expect(limits?.rateLimit).toBe(10_000);
  });

  it('listHostIds honours a range', async () => {
    const ids = truth.hosts.map((h) => Number(h.id)).sort((a, b) => a - b);
    const [from, to] = [ids[10] as number, ids[20] as number];
    expect(await client.listHostIds({ idMin: from, idMax: to })).toEqual(ids.slice(10, 21));
  });

  it('listHosts returns each host with its criticality and TruRisk', async () => {
    const hosts = await client.listHosts(fullRange());
    expect(hosts.some((h) => h.assetCriticalityScore !== undefined)).toBe(true);
    expect(hosts.map((h) => h.id)).toEqual(truth.hosts.map((h) => h.id).sort(byNumber));
    for (const expected of truth.hosts) {
      const host = hosts.find((h) => h.id === expected.id);
      expect({
        ip: host?.ip,
        os: host?.os,
        trackingMethod: host?.trackingMethod,
        assetCriticalityScore: host?.assetCriticalityScore,
        truriskScore: host?.truriskScore,
        assetId: host?.assetId,
        fqdn: host?.dnsData?.fqdn,
      }).toEqual({
        ip: expected.ip,
        os: expected.os,
        trackingMethod: expected.trackingMethod,
        assetCriticalityScore: expected.assetCriticalityScore,
        truriskScore: expected.truriskScore,
        assetId: expected.assetId,
        fqdn: expected.fqdn,
      });
    }
  });

  it('listDetections follows truncation and returns every detection of every status', async () => {
    const hosts = await client.listDetections(fullRange(), { truncationLimit: 7 });
    const pages = events.filter((e) => e.endpoint === 'hostDetection').length;
    expect(pages).toBeGreaterThan(3);

    const withDetections = truth.hosts.filter((h) => h.detections.length > 0);
    expect(hosts.map((h) => h.id)).toEqual(withDetections.map((h) => h.id).sort(byNumber));
    for (const expected of withDetections) {
      const host = hosts.find((h) => h.id === expected.id);
      const got = (host?.detections ?? []).map((d) => ({
        uniqueVulnId: d.uniqueVulnId,
        qid: d.qid,
        type: d.type,
        status: d.status,
        severity: d.severity,
        port: d.port,
        protocol: d.protocol,
        ssl: d.ssl,
        firstFound: d.firstFound,
        lastFound: d.lastFound,
        lastFixed: d.lastFixed,
        qds: d.qds,
        timesFound: d.timesFound,
      }));
      // The realistic profile leaves some optional elements out, as real answers do (wire-quirks.ts).
      const leftOut = (d: { uniqueVulnId: string; status: string }, field: string): boolean => detectionFieldsLeftOut(d, resolveProfile(undefined)).includes(field);
      const want = expected.detections.map((d) => ({
        uniqueVulnId: d.uniqueVulnId,
        qid: d.qid,
        type: d.type,
        status: leftOut(d, 'status') ? undefined : d.status,
        severity: d.severity,
        port: d.port,
        protocol: d.protocol,
        ssl: d.ssl,
        firstFound: d.firstFound,
        lastFound: d.lastFound,
        lastFixed: d.lastFixed,
        qds: d.qds,
        timesFound: leftOut(d, 'timesFound') ? undefined : d.timesFound,
      }));
      const key = (d: { uniqueVulnId?: string }): string => d.uniqueVulnId ?? '';
      expect([...got].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
        [...want].sort((a, b) => key(a).localeCompare(key(b))),
      );
    }
  });

  it('listDetections with a status filter returns only those', async () => {
    const hosts = await client.listDetections(fullRange(), { statuses: ['Fixed'] });
    const fixed = truth.hosts.flatMap((h) => h.detections.filter((d) => d.status === 'Fixed'));
    expect(hosts.flatMap((h) => h.detections).length).toBe(fixed.length);
    expect(hosts.every((h) => h.detections.every((d) => d.status === 'Fixed'))).toBe(true);
  });

  it('knowledgeBase maps every detected QID to its CVEs', async () => {
    const qids = [...new Set(truth.hosts.flatMap((h) => h.detections.map((d) => d.qid)))];
    const vulns = await client.knowledgeBase(qids);
    expect(vulns.map((v) => v.qid).sort(byNumber)).toEqual([...qids].sort(byNumber));
    for (const vuln of vulns) {
      const expected = truth.knowledgeBase[vuln.qid];
      expect({ cves: vuln.cves, title: vuln.title, severity: vuln.severity }).toEqual({
        cves: expected?.cves,
        title: expected?.title,
        severity: expected?.severity,
      });
    }
    expect(vulns.some((v) => v.cves.length === 0)).toBe(true);
    expect(vulns.some((v) => v.cves.length > 1)).toBe(true);
  });

  it('searchHostAssets returns the interfaces (MAC, gateway) of every host with an asset', async () => {
    const assets = await client.searchHostAssets(fullRange());
    const withAsset = truth.hosts.filter((h) => h.assetId !== undefined);
    expect(assets.map((a) => a.qwebHostId ?? '').sort(byNumber)).toEqual(withAsset.map((h) => h.id).sort(byNumber));
    for (const expected of withAsset) {
      const asset = assets.find((a) => a.qwebHostId === expected.id);
      expect(asset?.id).toBe(expected.assetId);
      expect(
        asset?.interfaces.map((i) => ({ name: i.interfaceName, mac: i.macAddress, address: i.address, gateway: i.gatewayAddress })),
      ).toEqual(
        expected.interfaces.map((i) => ({ name: i.name, mac: i.mac, address: i.address, gateway: i.gateway })),
      );
    }
  });

  it('countHostAssets counts them, in total and in a range', async () => {
    const withAsset = truth.hosts.filter((h) => h.assetId !== undefined);
    expect(await client.countHostAssets()).toBe(withAsset.length);
    const one = withAsset[0];
    if (one) expect(await client.countHostAssets({ idMin: Number(one.id), idMax: Number(one.id) })).toBe(1);
  });
});

describe('simulated failures become the right typed errors', () => {
  const userClient = (username: string, password: string): QualysClient =>
    new QualysClient({ apiUrl: sim.url, username, password });

  it('a wrong password → authentication', async () => {
    const bad = userClient(sim.username, 'wrong-password');
    const e = await failure(bad.listHostIds());
    await bad.close();
    expect([e.kind, e.retryable, e.qualysCode]).toEqual(['authentication', false, '2000']);
  });

  it('a user without API access → authentication (Qualys cannot tell it from a bad password)', async () => {
    const noApi = userClient('no_api', 'pw-no-api-1');
    expect((await failure(noApi.listHostIds())).kind).toBe('authentication');
    await noApi.close();
  });

  it('a user without Asset View → permission on QPS', async () => {
    const noAv = userClient('no_asset_view', 'pw-no-av-1');
    await expect(noAv.listHostIds({ idMin: 1, idMax: 1 })).resolves.toBeDefined();
    const e = await failure(noAv.countHostAssets());
    await noAv.close();
    expect([e.kind, e.retryable, e.qualysCode]).toEqual(['permission', false, 'UNAUTHORIZED']);
  });

  it('a user without KnowledgeBase access → permission', async () => {
    const noKb = userClient('no_kb', 'pw-no-kb-1');
    const e = await failure(noKb.knowledgeBase(['38170']));
    await noKb.close();
    expect([e.kind, e.retryable]).toEqual(['permission', false]);
  });

  it('an expired account → account', async () => {
    const expired = userClient('expired_user', 'pw-expired-1');
    const e = await failure(expired.listHostIds());
    await expired.close();
    expect([e.kind, e.retryable, e.qualysCode]).toEqual(['account', false, '2001']);
  });

  it.each([
    [{ concurrencyLimitErrors: 1 }, 'concurrency-limit', true],
    [{ rateLimitErrors: 1, rateLimitWaitSeconds: 1 }, 'rate-limit', true],
    [{ htmlErrorPages: 1 }, 'server', true],
    [{ htmlErrorPages: 1, htmlErrorStatus: 503 as const }, 'server', true],
    [{ htmlErrorPages: 1, htmlErrorStatus: 504 as const }, 'server', true],
    [{ serverErrors: 1, serverErrorStatus: 500 as const }, 'server', true],
    [{ serverErrors: 1, serverErrorStatus: 503 as const }, 'server', true],
    [{ connectionResets: 1 }, 'network', true],
    [{ truncatedBodies: 1 }, 'malformed-response', true],
    [{ malformedXml: 1 }, 'malformed-response', true],
  ])('fault %j → %s', async (fault, kind, retryable) => {
    sim.setFaults({ endpoint: 'hostDetection', ...fault });
    const e = await failure(client.listDetections(fullRange()));
    expect([e.kind, e.retryable]).toEqual([kind, retryable]);
    if (kind === 'rate-limit') {
      // The simulator refuses for as long as it said: wait that out (and a little more), as the connector does.
      expect(e.waitSeconds).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    // The fault is spent: the same call now succeeds.
    await expect(client.listDetections(fullRange())).resolves.toBeDefined();
  });
});
