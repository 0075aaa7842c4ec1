import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { Pool } from 'pg';
import type { RunningSimulator } from '../../simulator';
import type { ExportedRejectedRecord } from '../../src/store/rejected-records';
import { progressQuery, renderCurrentDetails, type SyncProgress } from '../../src/workflows/progress';
import { freshDatabase } from '../harness/database';
import { exportedState, readJsonLines, runSync, startSyncRun, type TestEnv } from '../harness/sync-run';
import { useTestEnvironment } from '../harness/test-environment';

// Quarantine end to end, on the real stack: a record Qualys sent that cannot be read is set aside in
// rejected_records (and exported), the host it is about keeps its asset and findings as the store held
// them, and a run with more such records than maxRejectedShare allows fails and commits nothing.

const CONNECTION = 'quarantine';
const INPUT = { pageSize: 50, mode: 'full' };

interface StoreRows {
  assets: Array<{ host_id: string; row: unknown }>;
  findings: Array<{ host_id: string; row: unknown }>;
  runKey: string | undefined;
}

/** Every row of the connection's assets and findings as stored, and its committed run. */
async function storeRows(databaseUrl: string): Promise<StoreRows> {
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    const assets = await pool.query<{ host_id: string; row: unknown }>(
      'SELECT host_id::text, to_jsonb(a) AS row FROM assets a WHERE connection = $1 ORDER BY key',
      [CONNECTION],
    );
    const findings = await pool.query<{ host_id: string; row: unknown }>(
      `SELECT a.host_id::text, to_jsonb(f) AS row FROM findings f JOIN assets a ON a.connection = f.connection AND a.key = f.asset_key
       WHERE f.connection = $1 ORDER BY f.key`,
      [CONNECTION],
    );
    const run = await pool.query<{ run_key: string }>('SELECT run_key FROM connections WHERE connection = $1', [CONNECTION]);
    return { assets: assets.rows, findings: findings.rows, runKey: run.rows[0]?.run_key };
  } finally {
    await pool.end();
  }
}

async function rejectedRows(databaseUrl: string, runKey: string): Promise<Array<{ api: string; host_id: string | null; page_index: number; reason: string }>> {
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    const { rows } = await pool.query('SELECT api, host_id::text, page_index, reason FROM rejected_records WHERE run_key = $1', [runKey]);
    return rows;
  } finally {
    await pool.end();
  }
}

const ofHost = (rows: StoreRows, hostId: string): { assets: unknown[]; findings: unknown[] } => ({
  assets: rows.assets.filter((r) => r.host_id === hostId).map((r) => r.row),
  findings: rows.findings.filter((r) => r.host_id === hostId).map((r) => r.row),
});

describe('quarantine: records that cannot be read', () => {
  const testEnvironment = useTestEnvironment();
  let env: TestEnv;
  let sim: RunningSimulator;
  let databaseUrl: string;

  beforeAll(async () => {
    env = testEnvironment.env();
    sim = await testEnvironment.simulator({ hosts: 120, seed: 41 });
    databaseUrl = await freshDatabase();
    await runSync(env, sim, { connection: CONNECTION, databaseUrl, input: INPUT });
  });

  beforeEach(() => sim.clearFaults());

  it('a page with one unreadable DETECTION commits; its HOST is set aside, exported and counted, and its findings are untouched', async () => {
    const before = await storeRows(databaseUrl);
    sim.setFaults({ endpoint: 'hostDetection', unreadableRecords: 1 });
    let progress: SyncProgress | undefined;
    const run = await runSync(env, sim, {
      connection: CONNECTION,
      databaseUrl,
      input: { ...INPUT, maxRejectedShare: 0.01 },
      whileRunning: async (handle) => {
        await handle.result().catch(() => undefined);
        progress = await handle.query(progressQuery);
      },
    });
    expect(run.result.outcome).toBe('completed');

    const rejected = await rejectedRows(databaseUrl, run.result.runKey);
    expect(rejected).toHaveLength(1);
    const hostId = rejected[0]?.host_id;
    expect(rejected[0]).toMatchObject({ api: 'hostDetection' });
    expect(rejected[0]?.reason).toMatch(/QID/);
    if (hostId === null || hostId === undefined) throw new Error('the rejected HOST names no host');

    // The host had findings; the run left its asset and every finding exactly as they were.
    const after = await storeRows(databaseUrl);
    expect(after.runKey).toBe(run.result.runKey);
    expect(ofHost(before, hostId).findings.length).toBeGreaterThan(0);
    expect(ofHost(after, hostId)).toEqual(ofHost(before, hostId));
    expect(run.result.changes.findingsNoLongerReported).toBe(0);
    expect(after.findings.map((f) => f.row)).toEqual(before.findings.map((f) => f.row));

    // Counted in the run's totals, its report, the progress query and the current details.
    expect(run.report.totals).toMatchObject({ rejectedRecords: 1, hostsKept: 1 });
    expect(run.report.apiCalls.rejectedRecords).toBe(1);
    expect(progress).toMatchObject({ phase: 'done', rejectedRecords: 1, hostsKept: 1 });
    expect(renderCurrentDetails(progress as SyncProgress)).toContain('**Rejected records:** 1 could not be read');

    // Exported with the connection's current run.
    const exported = await exportedState(databaseUrl, CONNECTION);
    const records = readJsonLines<ExportedRejectedRecord & { hostId?: string }>(path.join(exported.dir, 'rejected_records.jsonl'));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ run: run.result.runKey, api: 'hostDetection', hostId });
    expect(records[0]?.xml).toContain('<QID>QID-');
  });

  it('a HOST without an ID names no host: the hosts its page\'s answer left out keep their findings', async () => {
    const before = await storeRows(databaseUrl);
    sim.setFaults({ endpoint: 'hostDetection', unreadableRecords: 1, unreadableRecord: 'host-id' });
    const run = await runSync(env, sim, { connection: CONNECTION, databaseUrl, input: { ...INPUT, maxRejectedShare: 0.01 } });
    const rejected = await rejectedRows(databaseUrl, run.result.runKey);
    expect(rejected).toEqual([expect.objectContaining({ api: 'hostDetection', host_id: null })]);
    expect(run.report.totals.rejectedRecords).toBe(1);
    expect(run.report.totals.hostsKept).toBeGreaterThanOrEqual(1);
    // Without this, the unnamed host's findings would be closed as no longer reported.
    expect(run.result.changes.findingsNoLongerReported).toBe(0);
    const after = await storeRows(databaseUrl);
    expect(after.findings.map((f) => f.row)).toEqual(before.findings.map((f) => f.row));
  });

  it('past maxRejectedShare the run fails with TooManyRejectedRecords and commits nothing', async () => {
    const before = await storeRows(databaseUrl);
    sim.setFaults({ endpoint: 'hostDetection', unreadableRecords: 1 });
    const started = await startSyncRun(env, sim, { connection: CONNECTION, databaseUrl, input: INPUT }); // default share: 0.001
    let failure: unknown;
    try {
      await started.handle.result();
    } catch (err) {
      failure = err;
    } finally {
      await started.stop();
    }
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    let cause: unknown = failure;
    while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    const typed = cause as ApplicationFailure;
    expect(typed.type).toBe('TooManyRejectedRecords');
    expect(typed.nonRetryable).toBe(true);
    expect(typed.message).toMatch(/could not read 1 of the \d+ records Qualys sent/);
    expect(typed.message).toMatch(/more than maxRejectedShare allows \(0\.1 %\)/);
    expect(typed.message).toMatch(/First: .*HOST\[\d+\] \(HOST ID \d+\): /);
    expect(typed.message).toContain('run again with a larger maxRejectedShare');

    // Nothing committed: the store is as the last committed run left it; the record stays set aside.
    const after = await storeRows(databaseUrl);
    expect(after).toEqual(before);
    expect(await rejectedRows(databaseUrl, started.runKey)).toHaveLength(1);
    const pool = new Pool({ connectionString: databaseUrl });
    try {
      const { rows } = await pool.query('SELECT status FROM runs WHERE run_key = $1', [started.runKey]);
      expect(rows).toEqual([{ status: 'failed' }]);
    } finally {
      await pool.end();
    }
  });
});
