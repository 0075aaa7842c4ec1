// The simulator's estate moving on a generation (`advance`), checked over HTTP with the Qualys client:
// what is served is always exactly the truth, and the changes are the ones the summary reports.
import {
  type AdvanceSummary,
  type GroundTruth,
  type RunningSimulator,
  resolveProfile,
  startSimulator,
  type SimulatorOptions,
  type TruthDetection,
  type TruthHost,
} from '../../simulator';
import { detectionFieldsLeftOut } from '../../simulator/wire-quirks';
import { QualysClient } from '../../src/qualys/client';
import type { HostAsset, HostDetections } from '../../src/qualys/schemas';

const ALL_STATUSES = ['New', 'Active', 'Re-Opened', 'Fixed'] as const;
const OPEN_STATUSES = ['New', 'Active', 'Re-Opened'] as const;
/** Wider than any simulated host ID, so that an emptied estate can still be asked about. */
const EVERY_ID = { idMin: 1, idMax: 2_000_000_000 };
const FAST: SimulatorOptions = { detectionsPerHost: 4, rateLimit: { calls: 100_000, windowSeconds: 3600 } };

const byNumber = (a: string, b: string): number => Number(a) - Number(b);
const hostIds = (truth: GroundTruth): string[] => truth.hosts.map((h) => h.id);
const isOpen = (d: TruthDetection): boolean => d.status !== 'Fixed';

/** Qualys datetime (whole seconds, UTC) of epoch ms. */
const qualysTime = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * A truth without the wall-clock stamps: the only thing two equal sequences of advances may differ in
 * (hosts' lastProcessedAt, and the update and processing times of the detections an advance touched).
 */
function withoutClock(truth: GroundTruth): GroundTruth {
  return {
    ...truth,
    hosts: truth.hosts.map(({ lastProcessedAt: _clock, detections, ...host }) => ({
      ...host,
      detections: detections.map((d) => ({ ...d, lastUpdate: '', lastProcessed: '' })),
    })),
  };
}

function hostJson(host: TruthHost): string {
  const { lastProcessedAt: _clock, ...rest } = host;
  return JSON.stringify(rest);
}

function clientFor(sim: RunningSimulator): QualysClient {
  return new QualysClient({ apiUrl: sim.url, username: sim.username, password: sim.password });
}

describe('one default advance of a 2000-host estate', () => {
  let sim: RunningSimulator;
  let client: QualysClient;
  let before: GroundTruth;
  let after: GroundTruth;
  let summary: AdvanceSummary;
  let advancedAt: number;
  let servedIds: string[];
  let servedDetections: HostDetections[];
  let servedAssets: HostAsset[];

  beforeAll(async () => {
    sim = await startSimulator({ ...FAST, hosts: 2000, seed: 21 });
    client = clientFor(sim);
    before = sim.truth();
    advancedAt = Date.now();
    summary = sim.advance();
    after = sim.truth();
    servedIds = (await client.listHostIds()).map(String);
    servedDetections = await client.listDetections(EVERY_ID, { statuses: ALL_STATUSES });
    servedAssets = await client.searchHostAssets(EVERY_ID);
  });

  afterAll(async () => {
    await client.close();
    await sim.close();
  });

  it('moves to generation 1 and changes about 5 % of the hosts, exactly as the truth shows', () => {
    expect([before.generation, summary.generation, after.generation]).toEqual([0, 1, 1]);
    const beforeIds = new Set(hostIds(before));
    const afterIds = new Set(hostIds(after));
    expect(summary.removed).toEqual(hostIds(before).filter((id) => !afterIds.has(id)));
    expect(summary.added).toEqual(hostIds(after).filter((id) => !beforeIds.has(id)));
    const old = new Map(before.hosts.map((h) => [h.id, hostJson(h)]));
    const changed = after.hosts.filter((h) => old.has(h.id) && old.get(h.id) !== hostJson(h)).map((h) => h.id);
    expect(summary.changed).toEqual(changed);

    const share = (summary.added.length + summary.removed.length + summary.changed.length) / 2000;
    expect(share).toBeGreaterThanOrEqual(0.03);
    expect(share).toBeLessThanOrEqual(0.08);
    expect(summary.added.length).toBeGreaterThan(0);
    expect(summary.removed.length).toBeGreaterThan(0);
    // New hosts get IDs above every ID used before.
    const highest = Math.max(...hostIds(before).map(Number));
    expect(summary.added.every((id) => Number(id) > highest)).toBe(true);
  });

  it('reports the detection changes the truth shows: fixed, newly found and reopened', () => {
    const previous = new Map(before.hosts.flatMap((h) => h.detections.map((d) => [d.uniqueVulnId, d] as const)));
    const added = new Set(summary.added);
    const current = after.hosts.filter((h) => !added.has(h.id)).flatMap((h) => h.detections);
    const fixed = current.filter((d) => d.status === 'Fixed' && isOpen(previous.get(d.uniqueVulnId) ?? d));
    const reopened = current.filter((d) => d.status === 'Re-Opened' && previous.get(d.uniqueVulnId)?.status === 'Fixed');
    const found = current.filter((d) => !previous.has(d.uniqueVulnId));
    expect({ fixed: fixed.length, found: found.length, reopened: reopened.length }).toEqual({
      fixed: summary.fixed,
      found: summary.found,
      reopened: summary.reopened,
    });
    expect(summary.fixed).toBeGreaterThan(0);
    expect(summary.found).toBeGreaterThan(0);
    expect(summary.reopened).toBeGreaterThan(0);
    expect(found.every((d) => d.status === 'New' && d.timesFound === 1)).toBe(true);
    // Changes happen at the new generation's scan: after generation 0's estate-now (2025-10-31T12:00:00Z).
    expect(fixed.every((d) => (d.lastFixed ?? '') > '2025-10-31T12:00:00Z')).toBe(true);
    expect(reopened.every((d) => d.lastFound > '2025-10-31T12:00:00Z' && d.lastFixed !== undefined)).toBe(true);
  });

  it('stamps added and changed hosts with the wall-clock time of the advance, and no other host', () => {
    const touched = new Set([...summary.added, ...summary.changed]);
    for (const host of after.hosts) {
      if (!touched.has(host.id)) {
        expect(host.lastProcessedAt).toBeUndefined();
        continue;
      }
      const stamp = host.lastProcessedAt ?? '';
      expect(stamp >= qualysTime(advancedAt) && stamp <= qualysTime(Date.now())).toBe(true);
    }
  });

  it('Host List serves exactly the truth host IDs', () => {
    expect(servedIds).toEqual(hostIds(after).sort(byNumber));
  });

  it('removed hosts are gone from Host List, Host List Detection and the host assets', async () => {
    const detectionIds = new Set(servedDetections.map((h) => h.id));
    const assetHostIds = new Set(servedAssets.map((a) => a.qwebHostId));
    for (const id of summary.removed) {
      expect(servedIds).not.toContain(id);
      expect(detectionIds.has(id)).toBe(false);
      expect(assetHostIds.has(id)).toBe(false);
    }
    const withAsset = after.hosts.filter((h) => h.assetId !== undefined);
    expect(servedAssets.map((a) => a.qwebHostId ?? '').sort(byNumber)).toEqual(withAsset.map((h) => h.id));
    expect(await client.countHostAssets()).toBe(withAsset.length);
  });

  it('added hosts are served with their detections and host assets', () => {
    for (const id of summary.added) {
      const expected = after.hosts.find((h) => h.id === id);
      const served = servedDetections.find((h) => h.id === id);
      expect(served?.detections.length).toBeGreaterThan(0);
      expect(served?.detections.length).toBe(expected?.detections.length);
      expect(servedAssets.find((a) => a.qwebHostId === id)?.id).toBe(expected?.assetId);
    }
  });

  it('serves every detection of the added and changed hosts as the truth says', () => {
    const project = (d: { uniqueVulnId?: string; qid: string; status?: string; firstFound?: string; lastFound?: string; lastFixed?: string; timesFound?: number }): unknown => ({
      uniqueVulnId: d.uniqueVulnId,
      qid: d.qid,
      status: d.status,
      firstFound: d.firstFound,
      lastFound: d.lastFound,
      lastFixed: d.lastFixed,
      timesFound: d.timesFound,
    });
    for (const id of [...summary.added, ...summary.changed]) {
      const expected = after.hosts.find((h) => h.id === id);
      const served = servedDetections.find((h) => h.id === id);
      // The realistic profile leaves some optional elements out, as real answers do (wire-quirks.ts).
      const asServed = (d: TruthDetection): Partial<TruthDetection> =>
        Object.fromEntries(Object.entries(d).filter(([field]) => !detectionFieldsLeftOut(d, resolveProfile(undefined)).includes(field)));
      expect(served?.detections.map(project)).toEqual(expected?.detections.map(asServed).map((d) => project(d as TruthDetection)));
    }
  });

  it('a detection fixed by the advance is served as Fixed when Fixed is asked for, and not otherwise', async () => {
    const previous = new Map(before.hosts.flatMap((h) => h.detections.map((d) => [d.uniqueVulnId, d] as const)));
    const host = after.hosts.find((h) => summary.changed.includes(h.id) && h.detections.some((d) => d.status === 'Fixed' && isOpen(previous.get(d.uniqueVulnId) ?? d)));
    const detection = host?.detections.find((d) => d.status === 'Fixed' && isOpen(previous.get(d.uniqueVulnId) ?? d));
    if (host === undefined || detection === undefined) throw new Error('the advance fixed no detection');
    const range = { idMin: Number(host.id), idMax: Number(host.id) };

    const withFixed = await client.listDetections(range, { statuses: ALL_STATUSES });
    const served = withFixed[0]?.detections.find((d) => d.uniqueVulnId === detection.uniqueVulnId);
    expect([served?.status, served?.lastFixed]).toEqual(['Fixed', detection.lastFixed]);

    const openOnly = await client.listDetections(range, { statuses: OPEN_STATUSES });
    expect(openOnly.flatMap((h) => h.detections).map((d) => d.uniqueVulnId)).not.toContain(detection.uniqueVulnId);
  });

  it('KnowledgeBase last_modified_after returns the QIDs that gained a CVE, with the new CVE', async () => {
    expect(summary.qidsGainingCve.length).toBe(2);
    for (const since of [qualysTime(advancedAt), qualysTime(advancedAt - 3_600_000)]) {
      const vulns = await client.knowledgeBaseModifiedSince(since);
      expect(vulns.map((v) => v.qid).sort(byNumber)).toEqual(summary.qidsGainingCve);
      for (const vuln of vulns) {
        const had = before.knowledgeBase[vuln.qid]?.cves ?? [];
        expect(vuln.cves).toEqual(after.knowledgeBase[vuln.qid]?.cves);
        expect(vuln.cves.filter((cve) => !had.includes(cve))).toHaveLength(1);
      }
    }
    // One QID had no CVE (its detections were dropped, now they are findings), one had some.
    const hadBefore = summary.qidsGainingCve.map((qid) => before.knowledgeBase[qid]?.cves.length ?? 0);
    expect(hadBefore.filter((n) => n === 0)).toHaveLength(1);
    expect(hadBefore.filter((n) => n > 0)).toHaveLength(1);
    const openQids = new Set(after.hosts.flatMap((h) => h.detections.filter(isOpen).map((d) => d.qid)));
    expect(summary.qidsGainingCve.every((qid) => openQids.has(qid))).toBe(true);
    // Nothing else changed since: generation 0's entries are older than any real clock.
    expect(await client.knowledgeBaseModifiedSince(qualysTime(Date.now() + 1000))).toEqual([]);
  });
});

describe('advance', () => {
  const sims: RunningSimulator[] = [];
  const clients: QualysClient[] = [];

  async function start(options: SimulatorOptions): Promise<{ sim: RunningSimulator; client: QualysClient }> {
    const sim = await startSimulator({ ...FAST, ...options });
    const client = clientFor(sim);
    sims.push(sim);
    clients.push(client);
    return { sim, client };
  }

  afterAll(async () => {
    for (const client of clients) await client.close();
    for (const sim of sims) await sim.close();
  });

  it('is deterministic: the same seed advanced the same way gives the same estate', async () => {
    const steps = [{}, { changedShare: 0.1, qidsGainingCve: 3 }, { addedShare: 0.05, removedShare: 0 }];
    const run = async (seed: number): Promise<{ summaries: AdvanceSummary[]; truth: GroundTruth }> => {
      const { sim } = await start({ hosts: 300, seed });
      const summaries = steps.map((step) => sim.advance(step));
      return { summaries, truth: withoutClock(sim.truth()) };
    };
    const [a, b, other] = [await run(5), await run(5), await run(6)];
    expect(b.summaries).toEqual(a.summaries);
    expect(b.truth).toEqual(a.truth);
    expect(a.truth.generation).toBe(3);
    expect(other.summaries).not.toEqual(a.summaries);
  });

  it('never reuses a host ID, and Host List follows the truth generation after generation', async () => {
    const { sim, client } = await start({ hosts: 400, seed: 9 });
    const everSeen = new Set(hostIds(sim.truth()));
    const removed = new Set<string>();
    for (let n = 1; n <= 3; n++) {
      const highest = Math.max(...[...everSeen].map(Number));
      const summary = sim.advance({ addedShare: 0.05, removedShare: 0.05 });
      expect(summary.generation).toBe(n);
      expect(summary.added.every((id) => Number(id) > highest && !everSeen.has(id))).toBe(true);
      summary.added.forEach((id) => everSeen.add(id));
      summary.removed.forEach((id) => removed.add(id));
      const truth = sim.truth();
      expect(hostIds(truth).some((id) => removed.has(id))).toBe(false);
      expect((await client.listHostIds()).map(String)).toEqual(hostIds(truth));
    }
  });

  it('removedShare: 1 empties the estate', async () => {
    const { sim, client } = await start({ hosts: 200, seed: 4 });
    const summary = sim.advance({ removedShare: 1 });
    expect(summary.removed).toHaveLength(200);
    expect([summary.added, summary.changed, summary.qidsGainingCve]).toEqual([[], [], []]);
    expect(sim.truth().hosts).toEqual([]);
    expect(await client.listHostIds()).toEqual([]);
    expect(await client.listDetections(EVERY_ID, { statuses: ALL_STATUSES })).toEqual([]);
    expect(await client.countHostAssets()).toBe(0);
    // Shares are of the hosts present, so an empty estate stays empty.
    expect(sim.advance({ addedShare: 0.1 }).added).toEqual([]);
    expect(await client.listHostIds()).toEqual([]);
  });

  it('POST /__sim/advance advances and answers the summary, and is not counted as an API call', async () => {
    const { sim } = await start({ hosts: 500, seed: 12 });
    const post = (body: string): Promise<Response> =>
      fetch(`${sim.url}/__sim/advance`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

    const reply = await post(JSON.stringify({ changedShare: 0.04, addedShare: 0, removedShare: 0, qidsGainingCve: 1 }));
    expect(reply.status).toBe(200);
    const summary = (await reply.json()) as AdvanceSummary;
    expect(summary).toMatchObject({ generation: 1, added: [], removed: [] });
    expect(summary.changed).toHaveLength(20);
    expect(summary.qidsGainingCve).toHaveLength(1);

    const truth = (await (await fetch(`${sim.url}/__sim/truth`)).json()) as GroundTruth;
    expect(truth).toEqual(sim.truth());
    expect(truth.generation).toBe(1);
    expect(truth.hosts.filter((h) => h.lastProcessedAt !== undefined).map((h) => h.id)).toEqual(summary.changed);

    // An empty body means the defaults.
    const defaults = (await (await post('')).json()) as AdvanceSummary;
    expect(defaults.generation).toBe(2);
    expect(defaults.added.length + defaults.removed.length + defaults.changed.length).toBeGreaterThan(0);

    for (const bad of ['{"removedShare":2}', '{"changedShare":"lots"}', '{"bogus":1}', '[1]', 'not json']) {
      const refused = await post(bad);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toBeTruthy();
    }
    expect(sim.truth().generation).toBe(2);
    expect(Object.values(sim.stats().calls).every((n) => n === 0)).toBe(true);
  });
});
