import type { Pool } from 'pg';
import { withClient } from './with-client';

/**
 * The store's schema, as versioned migrations applied in order at start. Append new ones; never edit
 * one that has shipped. Each runs in its own transaction under an advisory lock, so several workers
 * starting at once apply each migration exactly once.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'runs, staging, current state, knowledge base',
    sql: `
-- One row per connector run; the report is written by its commit.
CREATE TABLE runs (
  run_key       text PRIMARY KEY,
  connection    text NOT NULL,
  workflow_id   text NOT NULL,
  started_at    timestamptz NOT NULL,
  status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'committed', 'abandoned')),
  host_count    integer,
  committed_at  timestamptz,
  report        jsonb,
  result        jsonb
);
CREATE INDEX runs_connection ON runs (connection, started_at DESC);

-- The run's page list (from enumeration) and how far each page got.
CREATE TABLE run_pages (
  run_key      text NOT NULL REFERENCES runs ON DELETE CASCADE,
  page_index   integer NOT NULL,
  id_min       bigint NOT NULL,
  id_max       bigint NOT NULL,
  hosts        integer NOT NULL,
  uploaded_at  timestamptz,
  PRIMARY KEY (run_key, page_index)
);

-- Every Qualys call and wait of a run, for its report (failed attempts return nothing to the workflow).
CREATE TABLE run_calls (
  run_key  text NOT NULL,
  at       timestamptz NOT NULL DEFAULT now(),
  entry    jsonb NOT NULL
);
CREATE INDEX run_calls_run ON run_calls (run_key);

-- Staging: what Qualys answered for a page (one row per API), so later steps never call Qualys again.
-- Logged like everything else: a database crash must not cost a run the pages it already paid for.
CREATE TABLE staged_fetches (
  run_key     text NOT NULL,
  page_index  integer NOT NULL,
  part        text NOT NULL,
  body        jsonb NOT NULL,
  PRIMARY KEY (run_key, page_index, part)
);

-- Staging: a page's mapped records, uploaded and waiting for the run's commit.
CREATE TABLE staged_assets (
  run_key     text NOT NULL,
  page_index  integer NOT NULL,
  key         text NOT NULL,
  host_id     bigint NOT NULL,
  record      jsonb NOT NULL
);
CREATE INDEX staged_assets_page ON staged_assets (run_key, page_index);
CREATE TABLE staged_findings (
  run_key     text NOT NULL,
  page_index  integer NOT NULL,
  key         text NOT NULL,
  asset_key   text NOT NULL,
  cve         text NOT NULL,
  status      text NOT NULL,
  record      jsonb NOT NULL,
  record_hash text NOT NULL
);
CREATE INDEX staged_findings_page ON staged_findings (run_key, page_index);

-- The current state per connection, with the record lifecycle in columns.
CREATE TABLE assets (
  connection     text NOT NULL,
  key            text NOT NULL,
  host_id        bigint NOT NULL,
  status         text NOT NULL CHECK (status IN ('active', 'removed')),
  first_seen_at  timestamptz NOT NULL,
  last_seen_at   timestamptz NOT NULL,
  removed_at     timestamptz,
  run_key        text NOT NULL,
  record         jsonb NOT NULL,
  PRIMARY KEY (connection, key)
);
-- A finding the last committed run reported has no last_seen_at (it was seen by that run); one it did
-- not report keeps when it was last seen. A commit so rewrites only the findings that changed.
CREATE TABLE findings (
  connection     text NOT NULL,
  key            text NOT NULL,
  asset_key      text NOT NULL,
  cve            text NOT NULL,
  status         text NOT NULL CHECK (status IN ('open', 'fixed')),
  closed_reason  text CHECK (closed_reason IN ('qualys-fixed', 'no-longer-reported', 'asset-removed')),
  closed_at      timestamptz,
  reopened_at    timestamptz,
  first_seen_at  timestamptz NOT NULL,
  last_seen_at   timestamptz,
  record         jsonb NOT NULL,
  record_hash    text NOT NULL,
  PRIMARY KEY (connection, key),
  CHECK ((status = 'open') = (closed_reason IS NULL))
);
CREATE INDEX findings_asset ON findings (connection, asset_key);
CREATE INDEX findings_cve ON findings (connection, cve);

-- Which run is current per connection, and the watermark of the last committed run.
CREATE TABLE connections (
  connection    text PRIMARY KEY,
  run_key       text NOT NULL,
  watermark     timestamptz NOT NULL,
  host_count    integer NOT NULL,
  committed_at  timestamptz NOT NULL
);

-- The QID → CVE cache, so later runs ask the KnowledgeBase only about QIDs they have not seen.
CREATE TABLE knowledge_base (
  connection             text NOT NULL,
  qid                    text NOT NULL,
  cves                   text[] NOT NULL,
  severity               integer,
  title                  text,
  last_service_modified  text,
  unknown                boolean NOT NULL DEFAULT false,
  PRIMARY KEY (connection, qid)
);

-- ISO 8601 UTC with milliseconds, as the model's records carry times.
CREATE FUNCTION iso_utc(t timestamptz) RETURNS text IMMUTABLE LANGUAGE sql
  RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- Current state as the model's records (what npm run export writes), lifecycle fields included.
CREATE VIEW current_assets AS
SELECT a.connection, a.key, a.host_id, a.status, a.removed_at,
       a.record || jsonb_strip_nulls(jsonb_build_object(
         'status', a.status, 'firstSeenAt', iso_utc(a.first_seen_at), 'lastSeenAt', iso_utc(a.last_seen_at),
         'removedAt', iso_utc(a.removed_at))) AS record
FROM assets a;

-- A finding closed because Qualys stopped reporting it keeps what Qualys last said as
-- lastReportedEvidence; its evidence is empty, so status and evidence never disagree.
CREATE VIEW current_findings AS
SELECT f.connection, f.key, f.asset_key, f.cve, f.status, f.closed_reason,
       (CASE WHEN f.closed_reason IN ('no-longer-reported', 'asset-removed')
             THEN f.record || jsonb_build_object('evidence', '[]'::jsonb, 'lastReportedEvidence', f.record->'evidence')
             ELSE f.record END)
       || jsonb_strip_nulls(jsonb_build_object(
         'status', f.status, 'closedReason', f.closed_reason, 'closedAt', iso_utc(f.closed_at),
         'reopenedAt', iso_utc(f.reopened_at), 'firstSeenAt', iso_utc(f.first_seen_at),
         'lastSeenAt', iso_utc(COALESCE(f.last_seen_at, r.started_at)))) AS record
FROM findings f
LEFT JOIN connections c ON c.connection = f.connection
LEFT JOIN runs r ON r.run_key = c.run_key;

-- One row per detection behind a finding that Qualys currently reports.
CREATE VIEW current_evidence AS
SELECT f.connection, f.key AS finding_key, f.asset_key, f.cve, f.status AS finding_status,
       e->>'qid' AS qid, e->>'status' AS qualys_status, (e->>'severity')::int AS severity, e->>'port' AS port,
       e->>'protocol' AS protocol, e->>'firstFound' AS first_found, e->>'lastFound' AS last_found
FROM findings f CROSS JOIN LATERAL jsonb_array_elements(f.record->'evidence') e
WHERE f.closed_reason IS DISTINCT FROM 'no-longer-reported' AND f.closed_reason IS DISTINCT FROM 'asset-removed';

-- Assets with the columns people filter on.
CREATE VIEW asset_details AS
SELECT a.connection, a.key, a.host_id, a.status, a.removed_at,
       a.record->>'hostname' AS hostname, a.record->>'fqdn' AS fqdn, a.record->>'operatingSystem' AS operating_system,
       (a.record->'criticality'->>'assetCriticalityScore')::int AS criticality,
       (a.record->'criticality'->>'truRiskScore')::int AS trurisk,
       ARRAY(SELECT jsonb_array_elements_text(a.record->'ipv4Addresses')) AS ipv4_addresses,
       ARRAY(SELECT jsonb_array_elements_text(a.record->'macAddresses')) AS mac_addresses
FROM assets a;
`,
  },
  {
    version: 2,
    name: 'runs that end without committing: cancelled or failed, with the reason',
    sql: `
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
  CHECK (status IN ('running', 'committed', 'abandoned', 'cancelled', 'failed'));
ALTER TABLE runs ADD COLUMN ended_at timestamptz;
ALTER TABLE runs ADD COLUMN failure text;
`,
  },
  {
    version: 3,
    name: 'Qualys API limits shared by every worker: concurrency slots and rate budgets',
    sql: `
-- What the workers last learnt of each Qualys API's limits, per subscription (API base URL + user name,
-- never a password), and the rate budget they keep between calls (see src/store/api-pacing.ts).
CREATE TABLE api_limits (
  subscription       text NOT NULL,
  api                text NOT NULL,
  concurrency_limit  integer,             -- X-Concurrency-Limit-Limit, last observed
  limit_observed_at  timestamptz,
  rate_limit         integer,             -- X-RateLimit-Limit
  rate_window_sec    integer,             -- X-RateLimit-Window-Sec
  remaining          integer,             -- X-RateLimit-Remaining last observed, less the calls sent since
  paused_until       timestamptz,         -- no call on this API before then
  pause_reason       text,
  sent               bigint NOT NULL DEFAULT 0,  -- calls sent so far: each call's sequence number
  observed_seq       bigint NOT NULL DEFAULT 0,  -- the call whose answer set "remaining"
  PRIMARY KEY (subscription, api)
);

-- When the connector's own recent calls started, per subscription and API: the oldest one in the
-- rolling window bounds how long an exhausted budget can last.
CREATE TABLE api_call_starts (
  subscription  text NOT NULL,
  api           text NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX api_call_starts_key ON api_call_starts (subscription, api, started_at);

-- The first free slot of (key, 0 … slots-1), taken as a session advisory lock, or NULL when all are held.
-- One statement per slot, in order: a plain SELECT … WHERE pg_try_advisory_lock(…) LIMIT 1 may lock rows
-- it does not return.
CREATE FUNCTION api_slot_try_lock(key integer, slots integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 0 .. slots - 1 LOOP
    IF pg_try_advisory_lock(key, i) THEN
      RETURN i;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
`,
  },
  {
    version: 4,
    name: 'incremental runs: run mode, the estate of an incremental run, the last full run',
    sql: `
ALTER TABLE runs ADD COLUMN mode text NOT NULL DEFAULT 'full' CHECK (mode IN ('full', 'incremental'));
ALTER TABLE runs ADD COLUMN since timestamptz;
-- The hosts an incremental run's page asks for (the changed ones of its ID range).
ALTER TABLE run_pages ADD COLUMN host_ids bigint[];
-- The host ID set of an incremental run: hosts it did not ask for but that are still in Qualys stay active.
CREATE TABLE run_hosts (
  run_key  text NOT NULL,
  host_id  bigint NOT NULL,
  PRIMARY KEY (run_key, host_id)
);
-- When the connection's last full run started, by Qualys' clock (auto mode runs a full one after fullEveryHours).
ALTER TABLE connections ADD COLUMN last_full_at timestamptz;
-- When the last commit happened by the database's clock, to compare with knowledge_base.cves_changed_at.
ALTER TABLE connections ADD COLUMN committed_db_at timestamptz;
-- Every QID detected on a host (CVE or not): when the KnowledgeBase gives a QID new CVEs, an incremental
-- run asks again for the hosts that have it, so their findings follow.
ALTER TABLE assets ADD COLUMN qids text[];
ALTER TABLE staged_assets ADD COLUMN qids text[];
CREATE INDEX assets_qids ON assets USING gin (qids);
-- When the cached CVE list of a QID last changed (by the database's clock).
ALTER TABLE knowledge_base ADD COLUMN cves_changed_at timestamptz;
`,
  },
  {
    version: 5,
    name: 'a page\'s staging belongs to one attempt: unique staged keys and a page lease',
    sql: `
-- Staged records are unique per run: a second copy of a page is refused, never committed.
-- (Staging of runs in flight while this migrates is kept once: the duplicates an overlapping attempt
-- may have left are removed, keeping the newest row.)
DELETE FROM staged_assets s USING staged_assets t
  WHERE s.run_key = t.run_key AND s.key = t.key AND s.ctid < t.ctid;
DELETE FROM staged_findings s USING staged_findings t
  WHERE s.run_key = t.run_key AND s.key = t.key AND s.ctid < t.ctid;
ALTER TABLE staged_assets ADD CONSTRAINT staged_assets_unique UNIQUE (run_key, key);
ALTER TABLE staged_findings ADD CONSTRAINT staged_findings_unique UNIQUE (run_key, key);
-- The page lease: the highest attempt of the page's staging step that took the page. An attempt below
-- it is stale (the page was handed to a later attempt) and may write nothing.
ALTER TABLE run_pages ADD COLUMN lease integer;
`,
  },
  {
    version: 6,
    name: 'lastSeenAt is when a run last asked Qualys about the host',
    sql: `
-- A finding Qualys still reports (last_seen_at NULL) was last seen when its host was last asked about:
-- its asset's last_seen_at, not the start of the connection's last run (an incremental run asks about
-- few hosts). A finding no longer reported keeps when it last was.
CREATE OR REPLACE VIEW current_findings AS
SELECT f.connection, f.key, f.asset_key, f.cve, f.status, f.closed_reason,
       (CASE WHEN f.closed_reason IN ('no-longer-reported', 'asset-removed')
             THEN f.record || jsonb_build_object('evidence', '[]'::jsonb, 'lastReportedEvidence', f.record->'evidence')
             ELSE f.record END)
       || jsonb_strip_nulls(jsonb_build_object(
         'status', f.status, 'closedReason', f.closed_reason, 'closedAt', iso_utc(f.closed_at),
         'reopenedAt', iso_utc(f.reopened_at), 'firstSeenAt', iso_utc(f.first_seen_at),
         'lastSeenAt', iso_utc(COALESCE(f.last_seen_at, a.last_seen_at)))) AS record
FROM findings f
LEFT JOIN assets a ON a.connection = f.connection AND a.key = f.asset_key;
`,
  },
  {
    version: 7,
    name: 'the run\'s change set: each page staged as what it changes; commits cost what changed',
    sql: `
-- Staged records are a run's change set: what each page changes in the connection's current state,
-- compared when the page is applied (see src/store/page-changes.ts). Kinds of change:
--   assets:   added, returned (was removed), changed (record or QIDs), seen (unchanged, asked by an incremental run)
--   findings: new, updated (same status), reopened, fixed (by Qualys), gone (no longer reported; last_seen_at
--             is when it last was)
ALTER TABLE staged_assets ADD COLUMN change text NOT NULL DEFAULT 'changed'
  CHECK (change IN ('added', 'returned', 'changed', 'seen'));
ALTER TABLE staged_findings ADD COLUMN change text NOT NULL DEFAULT 'updated'
  CHECK (change IN ('new', 'updated', 'reopened', 'fixed', 'gone'));
ALTER TABLE staged_findings ADD COLUMN last_seen_at timestamptz;
-- Runs in flight while this migrates staged whole pages, not changes: their pages are applied again
-- (or, already past that step, their commit refuses them as incomplete and the next run takes over).
DELETE FROM staged_assets WHERE run_key IN (SELECT run_key FROM runs WHERE status = 'running');
DELETE FROM staged_findings WHERE run_key IN (SELECT run_key FROM runs WHERE status = 'running');
UPDATE run_pages SET uploaded_at = NULL, lease = NULL WHERE run_key IN (SELECT run_key FROM runs WHERE status = 'running');

-- run_hosts holds the host ID set of every run from now on, full runs too: an active asset whose host
-- is not in it is removed by the commit.
-- When the connection's last committed full run started: it asked about every host of the estate, so an
-- active asset was seen then at least (a full run so writes no row of an unchanged asset).
ALTER TABLE connections ADD COLUMN last_full_started_at timestamptz;
UPDATE connections c SET last_full_started_at =
  (SELECT max(r.started_at) FROM runs r WHERE r.connection = c.connection AND r.status = 'committed' AND r.mode = 'full');
CREATE INDEX assets_removed ON assets (connection, removed_at) WHERE status = 'removed';

-- An asset's lastSeenAt: the start of the last run that asked Qualys about its host.
CREATE FUNCTION asset_last_seen(status text, last_seen_at timestamptz, last_full_started_at timestamptz) RETURNS timestamptz
  IMMUTABLE LANGUAGE sql
  RETURN CASE WHEN status = 'active' THEN GREATEST(last_seen_at, last_full_started_at) ELSE last_seen_at END;

CREATE OR REPLACE VIEW current_assets AS
SELECT a.connection, a.key, a.host_id, a.status, a.removed_at,
       a.record || jsonb_strip_nulls(jsonb_build_object(
         'status', a.status, 'firstSeenAt', iso_utc(a.first_seen_at),
         'lastSeenAt', iso_utc(asset_last_seen(a.status, a.last_seen_at, c.last_full_started_at)),
         'removedAt', iso_utc(a.removed_at))) AS record
FROM assets a
LEFT JOIN connections c ON c.connection = a.connection;

CREATE OR REPLACE VIEW current_findings AS
SELECT f.connection, f.key, f.asset_key, f.cve, f.status, f.closed_reason,
       (CASE WHEN f.closed_reason IN ('no-longer-reported', 'asset-removed')
             THEN f.record || jsonb_build_object('evidence', '[]'::jsonb, 'lastReportedEvidence', f.record->'evidence')
             ELSE f.record END)
       || jsonb_strip_nulls(jsonb_build_object(
         'status', f.status, 'closedReason', f.closed_reason, 'closedAt', iso_utc(f.closed_at),
         'reopenedAt', iso_utc(f.reopened_at), 'firstSeenAt', iso_utc(f.first_seen_at),
         'lastSeenAt', iso_utc(COALESCE(f.last_seen_at, asset_last_seen(a.status, a.last_seen_at, c.last_full_started_at))))) AS record
FROM findings f
LEFT JOIN assets a ON a.connection = f.connection AND a.key = f.asset_key
LEFT JOIN connections c ON c.connection = f.connection;
`,
  },
  {
    version: 10,
    name: 'records Qualys sent that could not be read, set aside per run and page',
    sql: `
-- A record (HOST, VULN, HostAsset) that could not be read: where it was, why, and its XML as read.
CREATE TABLE rejected_records (
  run_key      text NOT NULL REFERENCES runs ON DELETE CASCADE,
  connection   text NOT NULL,
  page_index   integer NOT NULL,
  api          text NOT NULL,
  record_path  text NOT NULL,
  reason       text NOT NULL,
  xml          text NOT NULL CHECK (length(xml) <= 65536),
  rejected_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_records_run ON rejected_records (run_key, page_index);
`,
  },
  {
    version: 12,
    name: 'failures of a step counted across its attempts, whichever worker ran them',
    sql: `
-- A step (one activity of one workflow execution, across its retries) and how many times it failed with
-- one kind of failure: a step gives up on an answer that never parses after a few of them, however
-- many of its attempts ended otherwise (a worker that died or hung, a 5xx).
CREATE TABLE step_failures (
  workflow_run_id  text NOT NULL,
  activity_id      text NOT NULL,
  kind             text NOT NULL,
  failures         integer NOT NULL,
  last_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (workflow_run_id, activity_id, kind)
);
CREATE INDEX step_failures_last_at ON step_failures (last_at);
`,
  },
  {
    version: 11,
    name: 'rejected records name the host they are about, when it could be read',
    sql: `
-- The Qualys host ID of a rejected record (a HOST's ID, a HostAsset's qwebHostId), NULL when none could
-- be read: that host's asset and findings are kept as they are by the run that rejected it.
ALTER TABLE rejected_records ADD COLUMN host_id bigint;
`,
  },
  {
    version: 14,
    name: 'the change feed: what each committed run changed, kept per run',
    sql: `
-- One row per record a commit wrote (asset or finding) with the record after the change, and one row
-- per committed run (entity 'run'). Written by the commit's transaction from its change set (see
-- src/store/change-feed.ts); kept for removedAssetRetentionDays (at least the connection's last run).
--   assets:   added, returned, changed, seen (asked by an incremental run, unchanged), removed, deleted
--   findings: opened, reopened, fixed (by Qualys), updated, no-longer-reported, closed-with-asset, deleted
--   run:      committed (record: mode and start; a full run saw every active asset at its start)
-- follows_asset: the finding's lastSeenAt is its asset's (Qualys still reports it), not its own.
CREATE TABLE run_changes (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  connection     text NOT NULL,
  run_key        text NOT NULL,
  entity         text NOT NULL CHECK (entity IN ('asset', 'finding', 'run')),
  key            text NOT NULL,
  change         text NOT NULL CHECK (change IN ('added', 'returned', 'changed', 'seen', 'removed', 'deleted',
                   'opened', 'reopened', 'fixed', 'updated', 'no-longer-reported', 'closed-with-asset', 'committed')),
  follows_asset  boolean,
  record         jsonb NOT NULL
);
CREATE INDEX run_changes_feed ON run_changes (connection, id);
CREATE INDEX run_changes_run ON run_changes (run_key);
-- An asset's latest line: the OCSF device of a finding whose asset was deleted since.
CREATE INDEX run_changes_asset ON run_changes (connection, key, id) WHERE entity = 'asset';

-- The change feed as npm run export -- --changes writes it: in commit order, with the run's commit time.
CREATE VIEW change_feed AS
SELECT c.id, c.connection, c.run_key, r.committed_at, c.entity, c.key, c.change, c.follows_asset, c.record
FROM run_changes c JOIN runs r ON r.run_key = c.run_key;
`,
  },
  {
    version: 15,
    name: 'iso_utc is inlined into the statements that use it',
    sql: `
-- iso_utc formats with to_char, which PostgreSQL marks STABLE. Declared IMMUTABLE, the function could not
-- be inlined: every use was a call of its own (five per row of current_findings, which the change feed
-- reads for every record a commit writes). Declared as what it is, it is inlined: the same text, a
-- fraction of the cost.
CREATE OR REPLACE FUNCTION iso_utc(t timestamptz) RETURNS text STABLE LANGUAGE sql
  RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
`,
  },
  {
    version: 16,
    name: 'a new finding is written once, when its page is applied, and is current once its run commits',
    sql: `
-- A finding new to the store is written to findings (and its opened line to the change feed) when its page
-- is applied, marked with the run that added it; it is part of the current state once that run commits.
-- A first commit so no longer copies the estate from staging (see src/store/page-changes.ts). What each
-- page added is listed in staged_additions, so a page applied again or a run that never commits takes
-- its additions back.
ALTER TABLE findings ADD COLUMN added_by_run text;
ALTER TABLE run_changes ADD COLUMN page_index integer;
DROP INDEX run_changes_run;
CREATE INDEX run_changes_run ON run_changes (run_key, page_index);
CREATE TABLE staged_additions (
  run_key     text NOT NULL,
  page_index  integer NOT NULL,
  keys        text[] NOT NULL,
  opened      integer NOT NULL,
  fixed       integer NOT NULL,
  PRIMARY KEY (run_key, page_index)
);

-- The current state and the feed leave out what a run that has not committed added.
CREATE OR REPLACE VIEW current_findings AS
SELECT f.connection, f.key, f.asset_key, f.cve, f.status, f.closed_reason,
       (CASE WHEN f.closed_reason IN ('no-longer-reported', 'asset-removed')
             THEN f.record || jsonb_build_object('evidence', '[]'::jsonb, 'lastReportedEvidence', f.record->'evidence')
             ELSE f.record END)
       || jsonb_strip_nulls(jsonb_build_object(
         'status', f.status, 'closedReason', f.closed_reason, 'closedAt', iso_utc(f.closed_at),
         'reopenedAt', iso_utc(f.reopened_at), 'firstSeenAt', iso_utc(f.first_seen_at),
         'lastSeenAt', iso_utc(COALESCE(f.last_seen_at, asset_last_seen(a.status, a.last_seen_at, c.last_full_started_at))))) AS record
FROM findings f
LEFT JOIN assets a ON a.connection = f.connection AND a.key = f.asset_key
LEFT JOIN connections c ON c.connection = f.connection
WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_key = f.added_by_run AND r.status <> 'committed');

CREATE OR REPLACE VIEW current_evidence AS
SELECT f.connection, f.key AS finding_key, f.asset_key, f.cve, f.status AS finding_status,
       e->>'qid' AS qid, e->>'status' AS qualys_status, (e->>'severity')::int AS severity, e->>'port' AS port,
       e->>'protocol' AS protocol, e->>'firstFound' AS first_found, e->>'lastFound' AS last_found
FROM findings f CROSS JOIN LATERAL jsonb_array_elements(f.record->'evidence') e
WHERE f.closed_reason IS DISTINCT FROM 'no-longer-reported' AND f.closed_reason IS DISTINCT FROM 'asset-removed'
  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_key = f.added_by_run AND r.status <> 'committed');

CREATE OR REPLACE VIEW change_feed AS
SELECT c.id, c.connection, c.run_key, r.committed_at, c.entity, c.key, c.change, c.follows_asset, c.record
FROM run_changes c JOIN runs r ON r.run_key = c.run_key
WHERE r.status = 'committed';
`,
  },
  {
    version: 17,
    name: 'a new asset is written once, when its page is applied, and is current once its run commits',
    sql: `
-- As a new finding (migration 16): an asset new to the store is written to assets, with its added line in
-- the change feed, when its page is applied, marked with the run that added it, and is part of the
-- current state once that run commits. A first commit so no longer copies the estate's assets from
-- staging. staged_additions lists the page's new assets too, so a page applied again, or a run that never
-- commits, takes them back.
ALTER TABLE assets ADD COLUMN added_by_run text;
ALTER TABLE staged_additions ADD COLUMN asset_keys text[] NOT NULL DEFAULT '{}';

CREATE OR REPLACE VIEW current_assets AS
SELECT a.connection, a.key, a.host_id, a.status, a.removed_at,
       a.record || jsonb_strip_nulls(jsonb_build_object(
         'status', a.status, 'firstSeenAt', iso_utc(a.first_seen_at),
         'lastSeenAt', iso_utc(asset_last_seen(a.status, a.last_seen_at, c.last_full_started_at)),
         'removedAt', iso_utc(a.removed_at))) AS record
FROM assets a
LEFT JOIN connections c ON c.connection = a.connection
WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_key = a.added_by_run AND r.status <> 'committed');
`,
  },
];

const LOCK_KEY = 727_001; // pg_advisory_xact_lock key held while migrating

/** Applies the migrations this database has not seen yet; safe when several processes start at once. */
export async function migrate(pool: Pool, migrations: ReadonlyArray<{ version: number; name: string; sql: string }> = MIGRATIONS): Promise<number[]> {
  return withClient(pool, async (client) => {
    const applied: number[] = [];
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
    } catch (err) {
      // Two processes creating it at the same moment: one wins, the other sees a duplicate.
      if (!['23505', '42P07'].includes((err as { code?: string }).code ?? '')) throw err;
    }
    for (const migration of inVersionOrder(migrations)) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
        const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
        if (done.rowCount === 0) {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
          applied.push(migration.version);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    return applied;
  });
}

/**
 * The migrations by version. Branches may land out of order (version 3 merged before version 2): each
 * version is applied once, whenever this database has not seen it, so a later-merged lower version still
 * runs. Versions must therefore not depend on each other unless they are numbered in that order.
 */
export function inVersionOrder<T extends { version: number }>(migrations: readonly T[]): T[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (!Number.isInteger(m.version) || m.version < 1) throw new Error(`Migration version ${m.version} is not a positive whole number.`);
    if (i > 0 && sorted[i - 1].version === m.version) throw new Error(`Two migrations have version ${m.version}: give one the next free number.`);
  });
  return sorted;
}
