import type { PoolClient } from 'pg';
import type { CommitResult, RunRef } from '../activities/contracts';
import { RunIncompleteError, ShrinkGuardError } from './errors';
import { clearStaging } from './clear-staging';
import { shrinkProblem } from './shrink-guard';
import type { CommitPolicy, RunReport, StateChanges, StateCounts } from './types';

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
  const C = run.connection;
  const R = run.runKey;
  const T = run.startedAt;
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`qualys-commit:${C}`]);

  const { rows: runRows } = await client.query<{ status: string; result: CommitResult | null; host_count: number | null }>(
    'SELECT status, result, host_count FROM runs WHERE run_key = $1 FOR UPDATE',
    [R],
  );
  const runRow = runRows[0];
  if (!runRow) throw new RunIncompleteError(`Run ${R} of connection ${C} has no page list in the store (its enumeration was never recorded), so it cannot be committed.`);
  if (runRow.status === 'committed' && runRow.result) return runRow.result;
  if (runRow.status === 'abandoned') {
    throw new RunIncompleteError(`Run ${R} of connection ${C} was abandoned when a later run of the connection started; its staging is gone. Nothing was committed.`);
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

  const assetCounts = await one<{ added: Count; returned: Count }>(
    client,
    `WITH s AS (
       SELECT DISTINCT ON (key) key, host_id, record FROM staged_assets WHERE run_key = $2 ORDER BY key, page_index DESC
     ), prev AS (
       SELECT s.*, a.status AS prev_status FROM s LEFT JOIN assets a ON a.connection = $1 AND a.key = s.key
     ), up AS (
       INSERT INTO assets AS a (connection, key, host_id, status, first_seen_at, last_seen_at, removed_at, run_key, record)
       SELECT $1, key, host_id, 'active', $3, $3, NULL, $2, record - 'status' - 'firstSeenAt' - 'lastSeenAt' - 'removedAt' FROM prev
       ON CONFLICT (connection, key) DO UPDATE SET status = 'active', removed_at = NULL, last_seen_at = excluded.last_seen_at,
         run_key = excluded.run_key, host_id = excluded.host_id, record = excluded.record
     )
     SELECT count(*) FILTER (WHERE prev_status IS NULL) AS added, count(*) FILTER (WHERE prev_status = 'removed') AS returned FROM prev`,
    [C, R, T],
  );
  const removed = await client.query(
    `UPDATE assets SET status = 'removed', removed_at = $3 WHERE connection = $1 AND status = 'active' AND run_key <> $2`,
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

  const findingCounts = await one<{ opened: Count; reopened: Count; fixed: Count }>(
    client,
    `WITH s AS (
       SELECT DISTINCT ON (key) key, asset_key, status, record FROM staged_findings WHERE run_key = $2 ORDER BY key, page_index DESC
     ), prev AS (
       SELECT s.*, f.status AS prev_status FROM s LEFT JOIN findings f ON f.connection = $1 AND f.key = s.key
     ), up AS (
       INSERT INTO findings AS f (connection, key, asset_key, status, closed_reason, closed_at, reopened_at, first_seen_at, last_seen_at, run_key, record)
       SELECT $1, key, asset_key, status,
              CASE WHEN status = 'fixed' THEN 'qualys-fixed' END, CASE WHEN status = 'fixed' THEN $3::timestamptz END, NULL, $3, $3, $2,
              record - 'status' - 'lastSeenAt'
       FROM prev
       ON CONFLICT (connection, key) DO UPDATE SET
         status = excluded.status,
         closed_reason = excluded.closed_reason,
         closed_at = CASE WHEN excluded.status = 'fixed' THEN COALESCE(f.closed_at, excluded.closed_at) END,
         reopened_at = CASE WHEN excluded.status = 'open' AND f.status = 'fixed' THEN excluded.last_seen_at ELSE f.reopened_at END,
         last_seen_at = excluded.last_seen_at, run_key = excluded.run_key, asset_key = excluded.asset_key, record = excluded.record
     )
     SELECT count(*) FILTER (WHERE prev_status IS NULL AND status = 'open') AS opened,
            count(*) FILTER (WHERE prev_status = 'fixed' AND status = 'open') AS reopened,
            count(*) FILTER (WHERE prev_status = 'open' AND status = 'fixed') AS fixed
     FROM prev`,
    [C, R, T],
  );
  const closed = await one<{ no_longer_reported: Count; asset_removed: Count }>(
    client,
    `WITH closed AS (
       UPDATE findings f SET status = 'fixed', closed_at = $3,
         closed_reason = CASE WHEN a.status = 'removed' THEN 'asset-removed' ELSE 'no-longer-reported' END
       FROM assets a
       WHERE f.connection = $1 AND f.status = 'open' AND f.run_key <> $2 AND a.connection = $1 AND a.key = f.asset_key
       RETURNING f.closed_reason
     )
     SELECT count(*) FILTER (WHERE closed_reason = 'no-longer-reported') AS no_longer_reported,
            count(*) FILTER (WHERE closed_reason = 'asset-removed') AS asset_removed
     FROM closed`,
    [C, R, T],
  );

  const changes: StateChanges = {
    assetsAdded: Number(assetCounts.added),
    assetsReturned: Number(assetCounts.returned),
    assetsRemoved: removed.rowCount ?? 0,
    assetsDeleted: Number(deleted.deleted),
    findingsOpened: Number(findingCounts.opened),
    findingsReopened: Number(findingCounts.reopened),
    findingsFixed: Number(findingCounts.fixed),
    findingsNoLongerReported: Number(closed.no_longer_reported),
    findingsAssetRemoved: Number(closed.asset_removed),
  };
  const counts = await one<{ assets_active: Count; assets_removed: Count; findings_open: Count; findings_fixed: Count }>(
    client,
    `SELECT (SELECT count(*) FROM assets WHERE connection = $1 AND status = 'active') AS assets_active,
            (SELECT count(*) FROM assets WHERE connection = $1 AND status = 'removed') AS assets_removed,
            (SELECT count(*) FROM findings WHERE connection = $1 AND status = 'open') AS findings_open,
            (SELECT count(*) FROM findings WHERE connection = $1 AND status = 'fixed') AS findings_fixed`,
    [C],
  );
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
    `INSERT INTO connections (connection, run_key, watermark, host_count, committed_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (connection) DO UPDATE SET run_key = excluded.run_key, watermark = excluded.watermark,
       host_count = excluded.host_count, committed_at = excluded.committed_at`,
    [C, R, report.watermark, runRow.host_count ?? 0, report.committedAt],
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
