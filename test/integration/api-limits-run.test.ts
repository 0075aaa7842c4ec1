import { QualysClient } from '../../src/qualys/client';
import { expectedFrom, runSync } from '../harness/sync-run';
import { useTestEnvironment } from '../harness/test-environment';

describe('Qualys API limits in a run (the guard in the store, real dev server, the simulator)', () => {
  const testEnvironment = useTestEnvironment();

  it('limit 1: one call at a time across all APIs — a page\'s Host List, Host List Detection and hostasset calls never overlap', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 30, seed: 31, latencyMs: 50, concurrencyLimit: 1 });
    const run = await runSync(env, sim, { input: { pageSize: 10 } });

    expect(run.findings.map((f) => f.key)).toEqual(expectedFrom(sim.truth(), 'sim').findingKeys);
    const stats = sim.stats();
    // The simulator counts every call from arrival to the end of its response, whatever the API.
    expect(stats.peakInFlight).toBe(1);
    expect(stats.errorsServed['409/1960']).toBeUndefined();
  });

  it('pacing: a budget the headers showed spent is waited out before Qualys refuses a call (no 1965), and the run completes', async () => {
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 20, seed: 33, concurrencyLimit: 2, rateLimit: { calls: 3, windowSeconds: 20 } });
    // Another tool of the subscription spent two of Host List's three calls: the run's first Host List call
    // gets the last one, and its headers say so (X-RateLimit-Remaining 0, ToWait-Sec until a call leaves the window).
    const otherTool = new QualysClient({ apiUrl: sim.url, username: sim.username, password: sim.password });
    try {
      for (let i = 0; i < 2; i++) await otherTool.listHostIds({ idMin: 1, idMax: 1 });
    } finally {
      await otherTool.close();
    }
    const run = await runSync(env, sim, { input: { pageSize: 10 } });

    expect(run.findings.map((f) => f.key)).toEqual(expectedFrom(sim.truth(), 'sim').findingKeys);
    const stats = sim.stats();
    // Host List was called more often than one window allows (2 + 4 calls for 3 a window) …
    expect(stats.calls.hostList).toBe(6);
    // … and never refused: every wait was the connector's own, taken before the call.
    expect(stats.errorsServed['409/1965']).toBeUndefined();
    expect(run.report.apiCalls.failuresByCode['1965']).toBeUndefined();
    expect(run.report.waiting.retryDelaySeconds).toBeGreaterThan(0);
  });
});
