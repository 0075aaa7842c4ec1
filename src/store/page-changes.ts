import type { PoolClient } from 'pg';
import type { PageRange, RunRef } from '../contracts/run';

/**
 * A page applied as the run's change set. The page's mapped records are written (COPY) to two temporary
 * tables of the page's transaction, compared there with the connection's current state for the page's
 * hosts, and only what differs is staged — so the commit applies what changed, not the estate:
 *
 *  - an asset new to the store is `added`, a removed one that is back `returned`, an active one whose
 *    record or QIDs differ `changed`; an unchanged one is staged (`seen`) only by an incremental run,
 *    which must record that it asked about the host (a full run's start covers every active asset);
 *  - a finding new to the store is `new`; one whose record or status differs, or that Qualys reports again
 *    after it was closed as no longer reported, is `updated`, `reopened` (fixed → open) or `fixed`
 *    (open → fixed by Qualys); one of the page's assets that Qualys no longer reports is `gone`, with
 *    the time it was last reported (its asset's lastSeenAt before this run).
 *
 * Only one run of a connection works at a time (its lock), so the current state the page is compared
 * with is the one its commit applies the change set to.
 */

/** The page's mapped records, before comparison: temporary, dropped with the page's transaction. */
export const PAGE_ASSETS = 'page_assets';
export const PAGE_FINDINGS = 'page_findings';

/** The temporary tables the page's mapped records are written to (columns as ASSET_COLUMNS, FINDING_COLUMNS). */
export async function openPageTables(client: PoolClient): Promise<void> {
  await client.query(
    `CREATE TEMP TABLE ${PAGE_ASSETS} (run_key text, page_index integer, key text, host_id bigint, record jsonb, qids text[]) ON COMMIT DROP`,
  );
  await client.query(
    `CREATE TEMP TABLE ${PAGE_FINDINGS} (run_key text, page_index integer, key text, asset_key text, cve text, status text,
       record jsonb, record_hash text) ON COMMIT DROP`,
  );
}

/** Stages what the page's mapped records change in the connection's current state (see above). */
export async function stagePageChanges(client: PoolClient, run: RunRef, page: PageRange, incremental: boolean): Promise<void> {
  await client.query(`ANALYZE ${PAGE_ASSETS}, ${PAGE_FINDINGS}`);
  const params = [run.connection, run.runKey, page.index];
  await client.query(
    `INSERT INTO staged_assets (run_key, page_index, key, host_id, record, qids, change)
     SELECT $2, $3, key, host_id, record, qids, change FROM (
       SELECT p.key, p.host_id, p.record - 'status' - 'firstSeenAt' - 'lastSeenAt' - 'removedAt' AS record, p.qids,
              CASE WHEN a.key IS NULL THEN 'added'
                   WHEN a.status = 'removed' THEN 'returned'
                   WHEN a.record <> (p.record - 'status' - 'firstSeenAt' - 'lastSeenAt' - 'removedAt')
                     OR a.qids IS DISTINCT FROM p.qids OR a.host_id <> p.host_id THEN 'changed'
                   ELSE 'seen' END AS change
       FROM ${PAGE_ASSETS} p LEFT JOIN assets a ON a.connection = $1 AND a.key = p.key
     ) compared
     WHERE change <> 'seen' OR $4`,
    [...params, incremental],
  );
  // One pass over the page's findings and the current findings of its assets (a finding's key names its
  // host, so these are all the current findings the page can meet): what is new, what changed, and what
  // Qualys reported until now and no longer does — last seen when its asset was.
  await client.query(
    `WITH current AS (
       SELECT f.key, f.asset_key, f.cve, f.status, f.closed_reason, f.last_seen_at, f.record, f.record_hash,
              asset_last_seen(a.status, a.last_seen_at, (SELECT last_full_started_at FROM connections WHERE connection = $1)) AS asset_seen_at
       FROM ${PAGE_ASSETS} p
       JOIN assets a ON a.connection = $1 AND a.key = p.key
       JOIN findings f ON f.connection = $1 AND f.asset_key = p.key
     )
     INSERT INTO staged_findings (run_key, page_index, key, asset_key, cve, status, record, record_hash, change, last_seen_at)
     SELECT $2, $3, COALESCE(p.key, f.key), COALESCE(p.asset_key, f.asset_key), COALESCE(p.cve, f.cve), COALESCE(p.status, f.status),
            COALESCE(p.record, f.record), COALESCE(p.record_hash, f.record_hash),
            CASE WHEN p.key IS NULL THEN 'gone'
                 WHEN f.key IS NULL THEN 'new'
                 WHEN f.status = 'fixed' AND p.status = 'open' THEN 'reopened'
                 WHEN f.status = 'open' AND p.status = 'fixed' THEN 'fixed'
                 ELSE 'updated' END,
            CASE WHEN p.key IS NULL THEN f.asset_seen_at END
     FROM ${PAGE_FINDINGS} p FULL JOIN current f ON f.key = p.key
     WHERE (p.key IS NULL AND f.last_seen_at IS NULL)
        OR (p.key IS NOT NULL AND (f.key IS NULL OR f.record_hash <> p.record_hash OR f.status <> p.status OR f.last_seen_at IS NOT NULL
            OR f.closed_reason IS DISTINCT FROM (CASE WHEN p.status = 'fixed' THEN 'qualys-fixed' END)))`,
    params,
  );
}
