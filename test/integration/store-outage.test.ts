import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../../src/store/embedded-server';
import { expectNoSecretAnywhere, expectedFrom, runSync } from '../harness/sync-run';
import { useTestEnvironment } from '../harness/test-environment';
import { waitForPages } from '../harness/worker-process';

describe('PostgreSQL stopped mid-run and started again', () => {
  const testEnvironment = useTestEnvironment();

  it('the run retries, completes with exact output, and spends no Qualys call on a page already staged', async () => {
    const env = testEnvironment.env();
    const pgDir = process.env.TEST_POSTGRES_DIR ?? '';
    const sim = await testEnvironment.simulator({ hosts: 120, seed: 23, latencyMs: 100 });
    let outageMs = 0;
    const run = await runSync(env, sim, {
      connection: 'outage',
      input: { pageSize: 10, heartbeatTimeoutSeconds: 5 },
      whileRunning: async (handle) => {
        await waitForPages(handle, 'pagesFetched', 4);
        const stopped = Date.now();
        await stopEmbeddedPostgres(pgDir);
        await new Promise((r) => setTimeout(r, 3000));
        await ensureEmbeddedPostgres(pgDir); // the same port again
        outageMs = Date.now() - stopped;
      },
    });
    expect(outageMs).toBeGreaterThanOrEqual(3000);

    const truth = sim.truth();
    expect(run.findings.map((f) => f.key)).toEqual(expectedFrom(truth, 'outage').findingKeys);
    expect(run.assets.map((a) => a.qualysHostId).sort()).toEqual(truth.hosts.map((h) => h.id).sort());
    expect(run.result.totals.pages).toBe(12);

    // Every page's detections were fetched; again only for the page whose staging the outage cut
    // off (one page at a time at the Standard tier): a staged page is never fetched again.
    const fetches = new Map<string, number>();
    for (const r of sim.stats().requests) {
      if (r.endpoint === 'hostDetection' && r.params.id_min !== undefined) fetches.set(r.params.id_min, (fetches.get(r.params.id_min) ?? 0) + 1);
    }
    expect(fetches.size).toBe(12);
    const repeated = [...fetches.values()].filter((n) => n > 1);
    expect(repeated.length).toBeLessThanOrEqual(1);
    await expectNoSecretAnywhere(env, sim.password, run.workflowId, run.databaseUrl);
  });
});
