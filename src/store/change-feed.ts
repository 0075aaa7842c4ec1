import type { PoolClient } from 'pg';
import type { RunRef } from '../contracts/run';
import { expiredRemovedAssets } from './removed-asset-retention';

/**
 * The change feed: what each committed run changed, one row per record its commit wrote, with the
 * record after the change (as `current_assets` / `current_findings` show it), and one row per run.
 * Written by the commit's own transaction from its change set and its removal statements, so it costs
 * what changed — except a new asset's or finding's line, written with the record when its page is applied
 * (page-changes.ts) and shown, like the record, once the run commits (the `change_feed` view reads
 * committed runs only). Kinds of change:
 *
 *  - assets: `added`, `returned`, `changed`, `seen` (asked about by an incremental run, unchanged: its
 *    lastSeenAt moved), `removed`, `deleted` (its retention is over; the record as it was);
 *  - findings: `opened`, `reopened`, `fixed` (by Qualys), `updated` (same status, new evidence — or, once
 *    after deploying a change of what a finding holds, every finding it changes: see finding-hash.ts),
 *    `no-longer-reported`, `closed-with-asset`, `deleted` (with its asset);
 *  - the run: `committed`, with its mode and start. A full run asked Qualys about every host, so every
 *    active asset was seen at its start: the commit writes no row for an unchanged asset, the feed says
 *    it once.
 *
 * `follows_asset` (findings) says the finding's lastSeenAt is its asset's (Qualys still reports it on
 * an asset that is there), not a time of its own: a consumer moves it with its asset.
 */

const FINDING_CHANGE = `CASE s.change WHEN 'new' THEN (CASE WHEN s.status = 'open' THEN 'opened' ELSE 'fixed' END)
                                  WHEN 'gone' THEN 'no-longer-reported' ELSE s.change END`;

/**
 * Records the removed assets (and their findings) the commit is about to delete because their retention
 * is over, as they are before the deletion. Called right before the commit's deletion.
 */
export async function recordDeletions(client: PoolClient, run: RunRef, retentionDays: number): Promise<void> {
  await client.query(
    `WITH expired AS (SELECT key FROM assets WHERE ${expiredRemovedAssets('$1', '$2', '$3')})
     INSERT INTO run_changes (connection, run_key, entity, key, change, follows_asset, record)
     SELECT $1, $4, 'finding', f.key, 'deleted', false, f.record
       FROM current_findings f WHERE f.connection = $1 AND f.asset_key IN (SELECT key FROM expired)
     UNION ALL
     SELECT $1, $4, 'asset', a.key, 'deleted', NULL, a.record
       FROM current_assets a WHERE a.connection = $1 AND a.key IN (SELECT key FROM expired)`,
    [run.connection, run.startedAt, retentionDays, run.runKey],
  );
}

/**
 * Records what the commit changed, once it has applied the change set and made the run the
 * connection's current one (the records are read as the current-state views show them after it), and
 * drops the changes of runs older than the retention. Called once, before the run's staging is cleared.
 */
export async function recordChanges(client: PoolClient, run: RunRef, retentionDays: number): Promise<void> {
  const params = [run.connection, run.runKey, run.startedAt];
  // The change set: assets and findings as the commit left them. Each record is looked up by its key
  // (LIMIT 1 keeps the lookup per row: the staging tables' statistics may be a larger run's, and a join
  // planned on them would build the views over the whole estate).
  await client.query(
    `INSERT INTO run_changes (connection, run_key, entity, key, change, follows_asset, record)
     SELECT $1, $2, 'asset', s.key, s.change, NULL, a.record
       FROM staged_assets s
       CROSS JOIN LATERAL (SELECT record FROM current_assets WHERE connection = $1 AND key = s.key LIMIT 1) a
      WHERE s.run_key = $2
     UNION ALL
     SELECT $1, $2, 'finding', s.key, ${FINDING_CHANGE}, s.change <> 'gone', f.record
       FROM staged_findings s
       CROSS JOIN LATERAL (SELECT record FROM current_findings WHERE connection = $1 AND key = s.key LIMIT 1) f
      WHERE s.run_key = $2`,
    [run.connection, run.runKey],
  );
  // The commit's removals: assets absent from the run, and the open findings closed with them. (A finding
  // already fixed stops following its asset too, with no visible change: a consumer does the same.)
  await client.query(
    `WITH removed AS (
       SELECT key, record FROM current_assets WHERE connection = $1 AND status = 'removed' AND removed_at = $3
     )
     INSERT INTO run_changes (connection, run_key, entity, key, change, follows_asset, record)
     SELECT $1, $2, 'asset', key, 'removed', NULL, record FROM removed
     UNION ALL
     SELECT $1, $2, 'finding', f.key, 'closed-with-asset', false, f.record
       FROM findings x JOIN current_findings f ON f.connection = $1 AND f.key = x.key
      WHERE x.connection = $1 AND x.asset_key IN (SELECT key FROM removed)
        AND x.closed_reason = 'asset-removed' AND x.closed_at = $3`,
    params,
  );
  // The run itself, last: a consumer's cursor, and (full runs) the time every active asset was seen.
  await client.query(
    `INSERT INTO run_changes (connection, run_key, entity, key, change, follows_asset, record)
     SELECT $1, $2, 'run', $2, 'committed', NULL, jsonb_build_object('mode', mode, 'startedAt', iso_utc($3))
       FROM runs WHERE run_key = $2`,
    params,
  );
  // Retention: the changes of runs that started more than the retention before this one, but always the
  // connection's previous run (a consumer that reads after every run keeps its cursor, even with 0 days).
  await client.query(
    `DELETE FROM run_changes WHERE connection = $1 AND run_key IN (
       SELECT run_key FROM runs
        WHERE connection = $1 AND status = 'committed' AND run_key <> $2
          AND started_at < $3::timestamptz - make_interval(days => $4)
          AND started_at < (SELECT max(started_at) FROM runs WHERE connection = $1 AND status = 'committed' AND run_key <> $2))`,
    [...params, retentionDays],
  );
}
