import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarise } from '../../chaos/report';
import { describeRun, runSoak, type RunRecord } from '../../chaos/soak';

/**
 * A short chaos soak (the one `npm run chaos` runs at length): two worker processes, PostgreSQL and a
 * Temporal server of its own, four runs under a fixed seed whose plan holds a worker paused past its
 * heartbeat timeout, a killed worker, a PostgreSQL restart, a Temporal restart, Qualys 5xx and bodies cut
 * short, a cancel and an incremental run. After every run the store must equal the simulator's truth
 * (committed) or its state before the run (cancelled). The seed keeps the cancel away from the restarts,
 * so what each run ends as does not depend on the machine's speed (a cancel that meets a step's heartbeat
 * timeout is chaos-findings.test.ts's case).
 */
const SEED = 2810;

describe('chaos: a few runs under random faults, each checked against the truth', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-chaos-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`seed ${SEED}: no run diverges, none is stuck or fails, no slot is left held, the limit holds`, async () => {
    const lines: string[] = [];
    const records: RunRecord[] = await runSoak({
      seed: SEED,
      runs: 4,
      workers: 2,
      hosts: 40,
      pageSize: 10,
      heartbeatTimeoutSeconds: 5,
      maxFaultsPerRun: 3,
      stuckAfterMs: 5 * 60_000,
      dir,
      temporalCli: process.env.TEST_TEMPORAL_CLI,
      log: (line) => lines.push(line),
    });
    const summary = summarise(records);
    // The report first, so a failure shows which run diverged and how.
    expect({ runs: lines, problems: records.flatMap((r) => r.divergences) }).toEqual({ runs: records.map(describeRun), problems: [] });
    expect(summary).toMatchObject({ runs: 4, diverged: 0, stuck: 0, failed: 0, slotLeaks: 0, overLimit: 0, ok: true });
    // The faults did land: processes and servers went down during runs, and Qualys misbehaved.
    const landed = Object.entries(summary.faults).filter(([, n]) => n > 0).map(([kind]) => kind);
    expect(landed.length).toBeGreaterThanOrEqual(4);
    expect(records.some((r) => r.outcome === 'committed' && r.mode === 'incremental')).toBe(true);
  }, 900_000);
});
