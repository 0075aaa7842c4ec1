import type { PoolClient } from 'pg';
import type { CommitResult, RunRef, StateChanges, StateCounts } from '../activities/contracts';
import { RunIncompleteError, ShrinkGuardError } from './errors';
import { clearStaging } from './clear-staging';
import { shrinkProblem } from './shrink-guard';
import type { CommitPolicy, RunReport } from './types';

type Count = string; // PostgreSQL's count(*) is a bigint, which node-postgres hands over as a string

/**
 * Commits a run inside the caller's transaction: checks that every page of the run's page list is
 * uploaded and that the estate did not collapse, applies the record lifecycle, makes the run the
 * connection's current state, writes its report and watermark and clears its staging. A commit of a
 * run already committed returns the same result. Commits of one connection are serialised.
 *
 * Lifecycle (the time of every change is the run's start, so a retried commit writes the same values):
 *  - an asset in the run is `active`; an active asset absent from it becomes `removed` (`removedAt`),
 *    and is deleted with its findings once removed for longer than the retention;
 *  - a finding is `open` while any evidence is New, Active or Re-Opened, else `fixed` / `qualys-fixed`;
 *    an open finding the run does not report is closed `asset-removed` (its asset is gone) or
 *    `no-longer-reported`; a fixed finding that is open again gets `reopenedAt`.
 */
export async function commitRun(
  client: PoolClient,
  run: RunRef,
  report: Omit<RunReport, 'changes' | 'state'>,
  policy: CommitPolicy,
): Promise<CommitResult> {
  // The statements' usual parameters: the connection, the run, and the run's start (the time of changes).
  const C = run.connection;
  const R = run.runKey;
  const T = run.startedAt;
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`qualys-commit:${C}`]);
  // The commit joins and sorts millions of rows at large estates: give this transaction room.
  await client.query(`SET LOCAL work_mem = '1GB'`);

  const { rows: runRows } = await client.query<{ status: string; result: CommitResult | null; host_count: number | null; mode: 'full' | 'incremental' }>(
    'SELECT status, result, host_count, mode FROM runs WHERE run_key = $1 FOR UPDATE',
    [R],
  );
  const runRow = runRows[0];
  if (!runRow) throw new RunIncompleteError(`Run ${R} of connection ${C} has no page list in the store (its enumeration was never recorded), so it cannot be committed.`);
  if (runRow.status === 'committed' && runRow.result) return runRow.result;
  if (runRow.status !== 'running') {
    const why = runRow.status === 'abandoned' ? 'was abandoned when a later run of the connection started' : `has ended (${runRow.status})`;
    throw new RunIncompleteError(`Run ${R} of connection ${C} ${why}; its staging is gone. Nothing was committed.`);
  }

  const { rows: missing } = await client.query<{ page_index: number; id_min: string; id_max: string }>(
    'SELECT page_index, id_min, id_max FROM run_pages WHERE run_key = $1 AND uploaded_at IS NULL ORDER BY page_index',
    [R],
  );
  if (missing.length > 0) {
    const named = missing.slice(0, 20).map((p) => `${p.page_index + 1} (hosts ${p.id_min}–${p.id_max})`);
    throw new RunIncompleteError(
      `Run ${R} of connection ${C} cannot be committed: ${missing.length} page(s) of its page list are not uploaded: ${named.join(', ')}${missing.length > 20 ? ' …' : ''}. Nothing was committed; start a new run.`,
    );
  }

  const { rows: previousRows } = await client.query<{ host_count: number }>('SELECT host_count FROM connections WHERE connection = $1', [C]);
  const problem = shrinkProblem(previousRows[0]?.host_count, runRow.host_count ?? 0, policy);
  if (problem) throw new ShrinkGuardError(problem);

  // When each asset the run asked about was last asked about before: a finding its host no longer reports
  // was last seen then.
  await client.query(
    `CREATE TEMP TABLE commit_asset_seen ON COMMIT DROP AS
     SELECT s.key, a.last_seen_at AS previous_seen_at FROM staged_assets s JOIN assets a ON a.connection = $1 AND a.key = s.key
     WHERE s.run_key = $2`,
    [C, R],
  );
  await client.query('CREATE UNIQUE INDEX ON commit_asset_seen (key)');

  // Staged keys are unique within a run (pages are disjoint ID ranges and a re-uploaded page replaces
  // its rows); a duplicate would make the upsert fail loudly rather than pick one silently.
  const assetCounts = await one<{ added: Count; returned: Count }>(
    client,
    `WITH s AS (
       SELECT key, host_id, record, qids FROM staged_assets WHERE run_key = $2
     ), prev AS (
       SELECT s.*, a.status AS prev_status FROM s LEFT JOIN assets a ON a.connection = $1 AND a.key = s.key
     ), up AS (
       INSERT INTO assets AS a (connection, key, host_id, status, first_seen_at, last_seen_at, removed_at, run_key, record, qids)
       SELECT $1, key, host_id, 'active', $3, $3, NULL, $2, record - 'status' - 'firstSeenAt' - 'lastSeenAt' - 'removedAt', qids FROM prev
       ON CONFLICT (connection, key) DO UPDATE SET status = 'active', removed_at = NULL, last_seen_at = excluded.last_seen_at,
         run_key = excluded.run_key, host_id = excluded.host_id, record = excluded.record, qids = excluded.qids
     )
     SELECT count(*) FILTER (WHERE prev_status IS NULL) AS added, count(*) FILTER (WHERE prev_status = 'removed') AS returned FROM prev`,
    [C, R, T],
  );
  // A full run saw every host: an active asset it did not stage is gone. An incremental run staged only
  // the changed hosts: an asset is gone when its host is no longer in the run's host ID set.
  const incremental = runRow.mode === 'incremental';
  const removed = await client.query(
    incremental
      ? `UPDATE assets a SET status = 'removed', removed_at = $3 WHERE a.connection = $1 AND a.status = 'active' AND a.run_key <> $2
           AND NOT EXISTS (SELECT 1 FROM run_hosts h WHERE h.run_key = $2 AND h.host_id = a.host_id)`
      : `UPDATE assets SET status = 'removed', removed_at = $3 WHERE connection = $1 AND status = 'active' AND run_key <> $2`,
    [C, R, T],
  );
  const deleted = await one<{ deleted: Count }>(
    client,
    `WITH gone AS (
       DELETE FROM assets WHERE connection = $1 AND status = 'removed' AND removed_at < $2::timestamptz - make_interval(days => $3) RETURNING key
     ), findings_gone AS (
       DELETE FROM findings WHERE connection = $1 AND asset_key IN (SELECT key FROM gone)
     )
     SELECT count(*) AS deleted FROM gone`,
    [C, T, policy.removedAssetRetentionDays],
  );

  // One pass over the run's findings and the connection's current ones finds what changed: findings
  // new to the store, findings whose record or status changed (or that come back), and findings the
  // run does not report. Only those are written; in steady state most findings are left untouched.
  // An incremental run compares only the hosts it asked for (their findings are replaced wholesale)
  // and those this commit removed; every other host keeps its findings as they are.
  const compared = incremental
    ? `AND (asset_key IN (SELECT key FROM staged_assets WHERE run_key = $2)
            OR asset_key IN (SELECT key FROM assets WHERE connection = $1 AND status = 'removed' AND removed_at = $3))`
    : '';
  await client.query(
    `CREATE TEMP TABLE commit_diff ON COMMIT DROP AS
     SELECT COALESCE(s.key, f.key) AS key,
            CASE WHEN f.key IS NULL THEN 'new' WHEN s.key IS NULL THEN 'gone' ELSE 'changed' END AS change,
            s.asset_key, s.status,
            CASE WHEN f.key IS NOT NULL THEN s.record END AS record,
            CASE WHEN f.key IS NOT NULL THEN s.record_hash END AS record_hash
     FROM (SELECT key, asset_key, status, record, record_hash FROM staged_findings WHERE run_key = $2) s
     FULL JOIN (SELECT key, record_hash, status, closed_reason, last_seen_at FROM findings WHERE connection = $1 ${compared}) f ON f.key = s.key
     WHERE f.key IS NULL
        OR (s.key IS NULL AND f.last_seen_at IS NULL)
        OR (s.key IS NOT NULL AND (f.record_hash <> s.record_hash OR f.status <> s.status OR f.last_seen_at IS NOT NULL
                                   OR f.closed_reason IS DISTINCT FROM (CASE WHEN s.status = 'fixed' THEN 'qualys-fixed' END)))`,
    incremental ? [C, R, T] : [C, R],
  );
  await client.query('CREATE INDEX ON commit_diff (key)');
  await client.query('ANALYZE commit_diff');
  await client.query(
    `UPDATE findings f SET
       status = d.status,
       closed_reason = CASE WHEN d.status = 'fixed' THEN 'qualys-fixed' END,
       closed_at = CASE WHEN d.status = 'fixed' THEN COALESCE(f.closed_at, $2::timestamptz) END,
       reopened_at = CASE WHEN d.status = 'open' AND f.status = 'fixed' THEN $2::timestamptz ELSE f.reopened_at END,
       last_seen_at = NULL, asset_key = d.asset_key, record = d.record, record_hash = d.record_hash
     FROM commit_diff d
     WHERE d.change = 'changed' AND f.connection = $1 AND f.key = d.key`,
    [C, T],
  );
  await client.query(
    `INSERT INTO findings (connection, key, asset_key, cve, status, closed_reason, closed_at, first_seen_at, record, record_hash)
     SELECT $1, s.key, s.asset_key, s.cve, s.status, CASE WHEN s.status = 'fixed' THEN 'qualys-fixed' END,
            CASE WHEN s.status = 'fixed' THEN $3::timestamptz END, $3, s.record, s.record_hash
     FROM staged_findings s JOIN commit_diff d ON d.key = s.key AND d.change = 'new'
     WHERE s.run_key = $2`,
    [C, R, T],
  );
  // Findings the run does not report: last seen when their host was last asked about before this run
  // (a removed asset's host was not asked about since); an open one is closed.
  const closed = await one<{ no_longer_reported: Count; asset_removed: Count }>(
    client,
    `WITH gone AS (
       UPDATE findings f SET
         last_seen_at = COALESCE(p.previous_seen_at, a.last_seen_at),
         status = 'fixed',
         closed_reason = CASE WHEN f.status = 'fixed' THEN f.closed_reason WHEN a.status = 'removed' THEN 'asset-removed' ELSE 'no-longer-reported' END,
         closed_at = CASE WHEN f.status = 'fixed' THEN f.closed_at ELSE $2::timestamptz END
       FROM commit_diff d, assets a LEFT JOIN commit_asset_seen p ON p.key = a.key
       WHERE d.change = 'gone' AND f.connection = $1 AND f.key = d.key AND a.connection = $1 AND a.key = f.asset_key
       RETURNING f.closed_reason, f.closed_at
     )
     SELECT count(*) FILTER (WHERE closed_at = $2 AND closed_reason = 'no-longer-reported') AS no_longer_reported,
            count(*) FILTER (WHERE closed_at = $2 AND closed_reason = 'asset-removed') AS asset_removed
     FROM gone`,
    [C, T],
  );

  // Transitions of this commit are marked with its time: one pass over the lifecycle columns counts
  // them and the state after, without comparing records.
  const counts = await one<{
    assets_active: Count;
    assets_removed: Count;
    findings_open: Count;
    findings_fixed: Count;
    opened: Count;
    reopened: Count;
    fixed: Count;
  }>(
    client,
    `SELECT a.active AS assets_active, a.removed AS assets_removed, f.*
     FROM (SELECT count(*) FILTER (WHERE status = 'active') AS active, count(*) FILTER (WHERE status = 'removed') AS removed
           FROM assets WHERE connection = $1) a,
          (SELECT count(*) FILTER (WHERE status = 'open') AS findings_open, count(*) FILTER (WHERE status = 'fixed') AS findings_fixed,
                  count(*) FILTER (WHERE first_seen_at = $2 AND status = 'open') AS opened,
                  count(*) FILTER (WHERE reopened_at = $2) AS reopened,
                  count(*) FILTER (WHERE closed_at = $2 AND closed_reason = 'qualys-fixed' AND first_seen_at < $2) AS fixed
           FROM findings WHERE connection = $1) f`,
    [C, T],
  );
  const changes: StateChanges = {
    assetsAdded: Number(assetCounts.added),
    assetsReturned: Number(assetCounts.returned),
    assetsRemoved: removed.rowCount ?? 0,
    assetsDeleted: Number(deleted.deleted),
    findingsOpened: Number(counts.opened),
    findingsReopened: Number(counts.reopened),
    findingsFixed: Number(counts.fixed),
    findingsNoLongerReported: Number(closed.no_longer_reported),
    findingsAssetRemoved: Number(closed.asset_removed),
  };
  const state: StateCounts = {
    assetsActive: Number(counts.assets_active),
    assetsRemoved: Number(counts.assets_removed),
    findingsOpen: Number(counts.findings_open),
    findingsFixed: Number(counts.findings_fixed),
  };

  const result: CommitResult = { runKey: R, changes, state };
  const fullReport: RunReport = { ...report, changes, state };
  await client.query(
    `UPDATE runs SET status = 'committed', committed_at = $2, report = $3, result = $4 WHERE run_key = $1`,
    [R, report.committedAt, JSON.stringify(fullReport), JSON.stringify(result)],
  );
  await client.query(
    `INSERT INTO connections (connection, run_key, watermark, host_count, committed_at, last_full_at, committed_db_at) VALUES ($1, $2, $3, $4, $5, $6, now())
     ON CONFLICT (connection) DO UPDATE SET run_key = excluded.run_key, watermark = excluded.watermark,
       host_count = excluded.host_count, committed_at = excluded.committed_at, committed_db_at = excluded.committed_db_at,
       last_full_at = COALESCE(excluded.last_full_at, connections.last_full_at)`,
    [C, R, report.watermark, runRow.host_count ?? 0, report.committedAt, incremental ? null : report.watermark],
  );
  await clearStaging(client, [R]);
  return result;
}

async function one<T extends object>(client: PoolClient, sql: string, params: unknown[]): Promise<T> {
  const { rows } = await client.query<T>(sql, params);
  const row = rows[0];
  if (!row) throw new Error('the query returned no row');
  return row;
}
