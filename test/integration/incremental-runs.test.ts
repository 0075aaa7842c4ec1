import { Pool } from 'pg';
import type { RunningSimulator } from '../../simulator';
import { freshDatabase } from '../harness/database';
import { expectedFrom, runSync, startSyncRun, stateWithoutSeenTimes, type SyncRun, type TestEnv } from '../harness/sync-run';
import { useTestEnvironment } from '../harness/test-environment';
import { until } from '../harness/until';

const HOUR = 3_600_000;

async function watermarkOf(databaseUrl: string, connection: string): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    const { rows } = await pool.query<{ watermark: Date }>('SELECT watermark FROM connections WHERE connection = $1', [connection]);
    return rows[0].watermark.getTime();
  } finally {
    await pool.end();
  }
}

/**
 * Two stores of one connection that saw the same first full run: `incremental` goes on with incremental
 * runs, `reference` with full runs of the same estate. Whatever happens in between, after each step
 * the incremental store must hold what the full run's store holds.
 */
async function twoStores(env: TestEnv, sim: RunningSimulator, connection: string) {
  const incremental = await freshDatabase();
  const reference = await freshDatabase();
  for (const databaseUrl of [incremental, reference]) await runSync(env, sim, { connection, databaseUrl, input: { pageSize: 50 } });
  return {
    incremental,
    reference,
    async expectSameState(run: SyncRun): Promise<SyncRun> {
      const full = await runSync(env, sim, { connection, databaseUrl: reference, input: { pageSize: 50, mode: 'full' } });
      expect(stateWithoutSeenTimes(run)).toEqual(stateWithoutSeenTimes(full));
      return full;
    },
  };
}

describe('incremental runs: only what changed since the last committed run, with no gap', () => {
  const testEnvironment = useTestEnvironment();

  it('by Qualys\' clock, however far the worker\'s is: with Qualys 3 h behind, the next run still finds every change, and asks only for those hosts', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 400, seed: 23, clockOffsetMs: -3 * HOUR });
    const connection = 'clock';
    const stores = await twoStores(env, sim, connection);
    // The watermark is Qualys' time (3 h behind this machine), not the worker's.
    const watermark = await watermarkOf(stores.incremental, connection);
    expect(Math.abs(watermark - (Date.now() - 3 * HOUR))).toBeLessThan(10 * 60_000);

    const advanced = sim.advance();
    sim.resetStats();
    const run = await runSync(env, sim, { connection, databaseUrl: stores.incremental, input: { pageSize: 50 } });
    const incrementalCalls = sim.stats().calls;
    expect(run.result.mode).toBe('incremental'); // auto: the last full run is minutes old
    expect(run.report.plan.reason).toMatch(/the last full run is 0\.\d h old, a full run every 168 h/);
    const changed = new Set([...advanced.added, ...advanced.changed]);
    expect(run.report.totals.hostsAsked).toBeGreaterThanOrEqual(changed.size);
    expect(run.report.totals.hostsAsked).toBeLessThan(400 / 4);

    sim.resetStats();
    await stores.expectSameState(run);
    // Fewer Host List Detection calls than the full run, which asks for every page.
    expect(incrementalCalls.hostDetection).toBeLessThan(sim.stats().calls.hostDetection);
  });

  it('a failed incremental run moves nothing; the next one picks up every change', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 200, seed: 24 });
    const connection = 'after-failure';
    const stores = await twoStores(env, sim, connection);
    const before = await watermarkOf(stores.incremental, connection);
    sim.advance();

    sim.setFaults({ endpoint: 'hostDetection', malformedXml: 1000 });
    const failing = await startSyncRun(env, sim, { connection, databaseUrl: stores.incremental, input: { pageSize: 50 } });
    await expect(failing.handle.result()).rejects.toThrow();
    await failing.stop();
    expect(await watermarkOf(stores.incremental, connection)).toBe(before);

    sim.clearFaults();
    sim.advance();
    const run = await runSync(env, sim, { connection, databaseUrl: stores.incremental, input: { pageSize: 50 } });
    expect(run.result.mode).toBe('incremental');
    await stores.expectSameState(run);
  });

  it('a change that lands in Qualys while a run is going is in the next run', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 200, seed: 25 });
    const connection = 'during';
    const stores = await twoStores(env, sim, connection);
    sim.advance();
    // Detection pages are slow; the estate moves on once this run has started fetching them.
    sim.setFaults({ endpoint: 'hostDetection', latencyMs: 1500 });
    sim.resetStats();
    let advancedDuring = 0;
    await runSync(env, sim, {
      connection,
      databaseUrl: stores.incremental,
      input: { pageSize: 10 },
      whileRunning: async () => {
        await until('the run fetching detections', async () => (sim.stats().calls.hostDetection > 0 ? true : undefined));
        advancedDuring = sim.advance().changed.length;
      },
    });
    expect(advancedDuring).toBeGreaterThan(0);
    sim.clearFaults();
    const next = await runSync(env, sim, { connection, databaseUrl: stores.incremental, input: { pageSize: 50 } });
    expect(next.result.mode).toBe('incremental');
    await stores.expectSameState(next);
  });

  it('lastSeenAt is the start of the last run that asked Qualys about the host: full → advance → incremental', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 300, seed: 26 });
    const connection = 'seen';
    const databaseUrl = await freshDatabase();
    const full = await runSync(env, sim, { connection, databaseUrl, input: { pageSize: 50 } });
    sim.advance();
    const run = await runSync(env, sim, { connection, databaseUrl, input: { pageSize: 50 } });
    expect(run.result.mode).toBe('incremental');
    const fullStart = Date.parse(full.report.startedAt);
    const incrementalStart = Date.parse(run.report.startedAt);

    // The hosts the incremental run asked Qualys about: its pages' host lists.
    const pool = new Pool({ connectionString: databaseUrl });
    let asked: Set<string>;
    try {
      const { rows } = await pool.query<{ id: string }>('SELECT unnest(host_ids)::text AS id FROM run_pages WHERE run_key = $1', [run.result.runKey]);
      asked = new Set(rows.map((r) => r.id));
    } finally {
      await pool.end();
    }
    expect(asked.size).toBeGreaterThan(0);
    expect(asked.size).toBeLessThan(300 / 2);

    const assetSeen = new Map<string, number>();
    for (const asset of run.assets) {
      const seen = Date.parse(asset.lastSeenAt ?? '');
      if (asset.status === 'active') expect({ host: asset.qualysHostId, seen }).toEqual({ host: asset.qualysHostId, seen: asked.has(asset.qualysHostId) ? incrementalStart : fullStart });
      assetSeen.set(asset.key, seen);
    }
    let closedByIncremental = 0;
    for (const finding of run.findings) {
      const seen = Date.parse(finding.lastSeenAt ?? '');
      const ofAsset = assetSeen.get(finding.assetKey) ?? NaN;
      // Never a later sighting than its asset's; the same one while Qualys still reports it.
      expect(seen).toBeLessThanOrEqual(ofAsset);
      if (finding.status === 'open' || finding.closedReason === 'qualys-fixed') expect({ key: finding.key, seen }).toEqual({ key: finding.key, seen: ofAsset });
      // No longer reported: last reported by the full run, the last one that asked before.
      if (finding.closedReason === 'no-longer-reported' || finding.closedReason === 'asset-removed') {
        expect({ key: finding.key, seen }).toEqual({ key: finding.key, seen: fullStart });
        closedByIncremental += 1;
      }
    }
    expect(closedByIncremental).toBeGreaterThan(0);
  });

  it('a host Host List Detection returns but the host ID set does not is outside the estate, in full and incremental runs alike: full → incremental → full', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 120, seed: 27, outsideHostList: [5] });
    const connection = 'outside';
    const databaseUrl = await freshDatabase();
    const truth = sim.truth();
    const outside = truth.hosts[5].id;
    expect(truth.hosts[5].detections.length).toBeGreaterThan(0); // Host List Detection does return it
    const inEstate = { ...truth, hosts: truth.hosts.filter((h) => h.id !== outside) };
    const expectedKeys = expectedFrom(inEstate, connection).findingKeys;

    const states: unknown[] = [];
    for (const mode of ['full', 'incremental', 'full'] as const) {
      const run = await runSync(env, sim, { connection, databaseUrl, input: { pageSize: 40, mode } });
      expect(run.result.mode).toBe(mode);
      expect(run.assets.find((a) => a.qualysHostId === outside)).toBeUndefined();
      expect(run.findings.filter((f) => f.key.includes(`:host:${outside}:`))).toEqual([]);
      expect(run.assets.map((a) => a.status)).toEqual(inEstate.hosts.map(() => 'active'));
      expect(run.findings.map((f) => f.key)).toEqual(expectedKeys);
      // A full run sees the host in its page's Host List Detection answer and says it left it out.
      if (mode === 'full') expect(run.report.totals.hostsOutsideIdSet).toBe(1);
      states.push(stateWithoutSeenTimes(run));
    }
    expect(states[1]).toEqual(states[0]);
    expect(states[2]).toEqual(states[0]);
  });
});
