import type { PoolClient } from 'pg';
import type { CommitResult, RunRef, StateChanges, StateCounts } from '../contracts/run';
import { RunIncompleteError, ShrinkGuardError } from './errors';
import { recordChanges, recordDeletions } from './change-feed';
import { clearStaging } from './clear-staging';
import { expiredRemovedAssets } from './removed-asset-retention';
import { shrinkProblem } from './shrink-guard';
import { NEW_FINDING_CLOSED_AT, NEW_FINDING_CLOSED_REASON } from './page-changes';
import type { CommitPolicy, RunReport } from './types';

type Count = string; // PostgreSQL's count(*) is a bigint, which node-postgres hands over as a string

/**
 * Commits a run inside the caller's transaction: checks that every page of the run's page list is
 * uploaded and that the estate did not collapse, applies the run's change set (what each page changes,
 * staged as it was applied: see page-changes.ts; the assets and findings new to the store were written then, and
 * become current as this transaction marks the run committed) and the rest of the record lifecycle, makes the run the
 * connection's current state, writes its report and watermark, records its changes in the change feed
 * (change-feed.ts) and clears its staging. It costs what
 * changed, not the estate: only the change set is written, and the state after is the state before
 * moved by the changes. A commit of a run already committed returns the same result. Commits of one
 * connection are serialised.
 *
 * Lifecycle (the time of every change is the run's start, so a retried commit writes the same values):
 *  - an asset in the run is `active`; an active asset whose host is not in the run's host ID set becomes
 *    `removed` (`removedAt`), and is deleted with its findings once removed for longer than the retention;
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

  const { rows: previousRows } = await client.query<{ host_count: number; last_full_started_at: Date | null; result: CommitResult | null }>(
    `SELECT c.host_count, c.last_full_started_at, r.result FROM connections c LEFT JOIN runs r ON r.run_key = c.run_key WHERE c.connection = $1`,
    [C],
  );
  const previous = previousRows[0];
  const problem = shrinkProblem(previous?.host_count, runRow.host_count ?? 0, policy);
  if (problem) throw new ShrinkGuardError(problem);
  // The run's host ID set decides which assets are gone: it must be the one its enumeration listed.
  const listed = await one<{ n: Count }>(client, 'SELECT count(*) AS n FROM run_hosts WHERE run_key = $1', [R]);
  if (Number(listed.n) !== (runRow.host_count ?? 0)) {
    throw new RunIncompleteError(
      `Run ${R} of connection ${C} has ${listed.n} of its ${runRow.host_count ?? 0} host IDs in the store (it was enumerated by an older version): nothing was committed; start a new run.`,
    );
  }
  const state = await stateBefore(client, C, R, previous ? previous.result?.state : EMPTY_STATE);
  const incremental = runRow.mode === 'incremental';

  // Assets the run's change set brings back, changes or (incremental runs) saw unchanged; assets new to the
  // store were written as their pages were applied (staged here only by runs applied by an earlier version).
  const assetCounts = await one<{ added: Count; returned: Count }>(
    client,
    `WITH up AS (
       INSERT INTO assets AS a (connection, key, host_id, status, first_seen_at, last_seen_at, removed_at, run_key, record, qids)
       SELECT $1, key, host_id, 'active', $3, $3, NULL, $2, record, qids FROM staged_assets WHERE run_key = $2
       ON CONFLICT (connection, key) DO UPDATE SET status = 'active', removed_at = NULL, last_seen_at = excluded.last_seen_at,
         run_key = excluded.run_key, host_id = excluded.host_id, record = excluded.record, qids = excluded.qids
     )
     SELECT count(*) FILTER (WHERE change = 'added') AS added, count(*) FILTER (WHERE change = 'returned') AS returned
     FROM staged_assets WHERE run_key = $2`,
    [C, R, T],
  );
  // An active asset whose host is no longer in the run's host ID set is gone: it keeps when it was last seen.
  const removed = await client.query(
    `UPDATE assets a SET status = 'removed', removed_at = $3, last_seen_at = asset_last_seen(a.status, a.last_seen_at, $4)
     WHERE a.connection = $1 AND a.status = 'active' AND a.run_key <> $2
       AND NOT EXISTS (SELECT 1 FROM run_hosts h WHERE h.run_key = $2 AND h.host_id = a.host_id)`,
    [C, R, T, previous?.last_full_started_at ?? null],
  );
  await recordDeletions(client, run, policy.removedAssetRetentionDays);
  const deleted = await one<{ deleted: Count; open: Count; fixed: Count }>(
    client,
    `WITH gone AS (
       DELETE FROM assets WHERE ${expiredRemovedAssets('$1', '$2', '$3')} RETURNING key
     ), findings_gone AS (
       DELETE FROM findings WHERE connection = $1 AND asset_key IN (SELECT key FROM gone) RETURNING status
     )
     SELECT (SELECT count(*) FROM gone) AS deleted,
            count(*) FILTER (WHERE status = 'open') AS open, count(*) FILTER (WHERE status = 'fixed') AS fixed
     FROM findings_gone`,
    [C, T, policy.removedAssetRetentionDays],
  );

  // Findings: the change set, applied as staged (each page compared them with the current state). A
  // statement whose kind of change the run has none of is skipped: each one reads the run's whole change
  // set, which in a first commit is the whole estate, new.
  const findingCounts = await one<{
    new_rows: Count;
    new_open: Count;
    new_fixed: Count;
    reopened: Count;
    fixed: Count;
    rewritten: Count;
    gone: Count;
    gone_open: Count;
  }>(
    client,
    `SELECT count(*) FILTER (WHERE change = 'new') AS new_rows,
            count(*) FILTER (WHERE change = 'new' AND status = 'open') AS new_open,
            count(*) FILTER (WHERE change = 'new' AND status = 'fixed') AS new_fixed,
            count(*) FILTER (WHERE change = 'reopened') AS reopened,
            count(*) FILTER (WHERE change = 'fixed') AS fixed,
            count(*) FILTER (WHERE change IN ('updated', 'reopened', 'fixed')) AS rewritten,
            count(*) FILTER (WHERE change = 'gone') AS gone,
            count(*) FILTER (WHERE change = 'gone' AND status = 'open') AS gone_open
     FROM staged_findings WHERE run_key = $1`,
    [R],
  );
  // The assets and findings the run's pages added as they were applied (page-changes.ts): current from this commit on.
  const added = await one<{ opened: Count; fixed: Count; assets: Count }>(
    client,
    `SELECT COALESCE(sum(opened), 0) AS opened, COALESCE(sum(fixed), 0) AS fixed, COALESCE(sum(cardinality(asset_keys)), 0) AS assets
     FROM staged_additions WHERE run_key = $1`,
    [R],
  );
  const n = (value: Count): number => Number(value);
  // Each test counts the rows its statement reads, whatever their status, so a malformed staged row still
  // meets the findings table's checks and fails the commit as a defect instead of being skipped. New
  // findings are staged only by runs whose pages were applied by an earlier version of the connector.
  if (n(findingCounts.new_rows) > 0) {
    await client.query(
      `INSERT INTO findings (connection, key, asset_key, cve, status, closed_reason, closed_at, first_seen_at, record, record_hash)
       SELECT $1, key, asset_key, cve, status, ${NEW_FINDING_CLOSED_REASON}, ${NEW_FINDING_CLOSED_AT('$3')}, $3, record, record_hash
       FROM staged_findings WHERE run_key = $2 AND change = 'new'`,
      [C, R, T],
    );
  }
  if (n(findingCounts.rewritten) > 0) {
    await client.query(
      `UPDATE findings f SET
       status = s.status,
       closed_reason = CASE WHEN s.status = 'fixed' THEN 'qualys-fixed' END,
       closed_at = CASE WHEN s.status = 'fixed' THEN COALESCE(f.closed_at, $3::timestamptz) END,
       reopened_at = CASE WHEN s.change = 'reopened' THEN $3::timestamptz ELSE f.reopened_at END,
       last_seen_at = NULL, asset_key = s.asset_key, record = s.record, record_hash = s.record_hash
     FROM staged_findings s
     WHERE s.run_key = $2 AND s.change IN ('updated', 'reopened', 'fixed') AND f.connection = $1 AND f.key = s.key`,
      [C, R, T],
    );
  }
  // No longer reported on an asset still there: closed (an open one), last seen when last reported.
  if (n(findingCounts.gone) > 0) {
    await client.query(
      `UPDATE findings f SET
       last_seen_at = s.last_seen_at,
       status = 'fixed',
       closed_reason = CASE WHEN f.status = 'fixed' THEN f.closed_reason ELSE 'no-longer-reported' END,
       closed_at = CASE WHEN f.status = 'fixed' THEN f.closed_at ELSE $3::timestamptz END
     FROM staged_findings s
     WHERE s.run_key = $2 AND s.change = 'gone' AND f.connection = $1 AND f.key = s.key`,
      [C, R, T],
    );
  }
  // The findings Qualys reported on the assets this commit removed: closed with them.
  const assetRemoved = await one<{ closed: Count }>(
    client,
    `WITH closed AS (
       UPDATE findings f SET
         last_seen_at = a.last_seen_at,
         status = 'fixed',
         closed_reason = CASE WHEN f.status = 'fixed' THEN f.closed_reason ELSE 'asset-removed' END,
         closed_at = CASE WHEN f.status = 'fixed' THEN f.closed_at ELSE $2::timestamptz END
       FROM assets a
       WHERE a.connection = $1 AND a.status = 'removed' AND a.removed_at = $2 AND f.connection = $1 AND f.asset_key = a.key
         AND f.last_seen_at IS NULL
       RETURNING f.closed_reason, f.closed_at
     )
     SELECT count(*) FILTER (WHERE closed_at = $2 AND closed_reason = 'asset-removed') AS closed FROM closed`,
    [C, T],
  );

  const changes: StateChanges = {
    assetsAdded: n(assetCounts.added) + n(added.assets),
    assetsReturned: n(assetCounts.returned),
    assetsRemoved: removed.rowCount ?? 0,
    assetsDeleted: n(deleted.deleted),
    findingsOpened: n(findingCounts.new_open) + n(added.opened),
    findingsReopened: n(findingCounts.reopened),
    findingsFixed: n(findingCounts.fixed),
    findingsNoLongerReported: n(findingCounts.gone_open),
    findingsAssetRemoved: n(assetRemoved.closed),
  };
  // The state after: the state before moved by what changed (no count over the estate).
  const closedNow = changes.findingsFixed + changes.findingsNoLongerReported + changes.findingsAssetRemoved;
  state.assetsActive += changes.assetsAdded + changes.assetsReturned - changes.assetsRemoved;
  state.assetsRemoved += changes.assetsRemoved - changes.assetsReturned - changes.assetsDeleted;
  state.findingsOpen += changes.findingsOpened + changes.findingsReopened - closedNow - n(deleted.open);
  state.findingsFixed += n(findingCounts.new_fixed) + n(added.fixed) - changes.findingsReopened + closedNow - n(deleted.fixed);

  const result: CommitResult = { runKey: R, changes, state };
  const fullReport: RunReport = { ...report, changes, state };
  await client.query(
    `UPDATE runs SET status = 'committed', committed_at = $2, report = $3, result = $4 WHERE run_key = $1`,
    [R, report.committedAt, JSON.stringify(fullReport), JSON.stringify(result)],
  );
  await client.query(
    `INSERT INTO connections (connection, run_key, watermark, host_count, committed_at, last_full_at, last_full_started_at, committed_db_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now())
     ON CONFLICT (connection) DO UPDATE SET run_key = excluded.run_key, watermark = excluded.watermark,
       host_count = excluded.host_count, committed_at = excluded.committed_at, committed_db_at = excluded.committed_db_at,
       last_full_at = COALESCE(excluded.last_full_at, connections.last_full_at),
       last_full_started_at = COALESCE(excluded.last_full_started_at, connections.last_full_started_at)`,
    [C, R, report.watermark, runRow.host_count ?? 0, report.committedAt, incremental ? null : report.watermark, incremental ? null : T],
  );
  await recordChanges(client, run, policy.removedAssetRetentionDays);
  await clearStaging(client, [R]);
  return result;
}

/** A connection never committed holds nothing: its assets and findings so far are the ones this run added. */
const EMPTY_STATE: StateCounts = { assetsActive: 0, assetsRemoved: 0, findingsOpen: 0, findingsFixed: 0 };

/** The connection's state before this commit: its last commit's result, else counted (a result written by an older version). */
async function stateBefore(client: PoolClient, connection: string, runKey: string, last: StateCounts | undefined): Promise<StateCounts> {
  if (last) return { ...last };
  // The assets and findings this run added as its pages were applied are not yet the state before it.
  const counted = await one<{ assets_active: Count; assets_removed: Count; findings_open: Count; findings_fixed: Count }>(
    client,
    `SELECT (SELECT count(*) FROM assets WHERE connection = $1 AND status = 'active' AND added_by_run IS DISTINCT FROM $2) AS assets_active,
            (SELECT count(*) FROM assets WHERE connection = $1 AND status = 'removed' AND added_by_run IS DISTINCT FROM $2) AS assets_removed,
            (SELECT count(*) FROM findings WHERE connection = $1 AND status = 'open' AND added_by_run IS DISTINCT FROM $2) AS findings_open,
            (SELECT count(*) FROM findings WHERE connection = $1 AND status = 'fixed' AND added_by_run IS DISTINCT FROM $2) AS findings_fixed`,
    [connection, runKey],
  );
  return {
    assetsActive: Number(counted.assets_active),
    assetsRemoved: Number(counted.assets_removed),
    findingsOpen: Number(counted.findings_open),
    findingsFixed: Number(counted.findings_fixed),
  };
}

async function one<T extends object>(client: PoolClient, sql: string, params: unknown[]): Promise<T> {
  const { rows } = await client.query<T>(sql, params);
  const row = rows[0];
  if (!row) throw new Error('the query returned no row');
  return row;
}
