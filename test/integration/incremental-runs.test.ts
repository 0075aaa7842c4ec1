import { Pool } from 'pg';
import type { RunningSimulator } from '../../simulator';
import { freshDatabase } from '../harness/database';
import { runSync, startSyncRun, stateWithoutSeenTimes, type SyncRun, type TestEnv } from '../harness/sync-run';
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
});
