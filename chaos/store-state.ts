import { Pool } from 'pg';
import { z } from 'zod';

/**
 * What the store holds for a connection, read with plain SQL from its tables (not through the
 * connector's code), in the two forms the soak's invariant needs:
 *  - `digest`: every column of every asset, finding and the connection's row, hashed — a failed or
 *    cancelled run must leave it exactly as the last committed run did;
 *  - `assets` / `findings`: what a committed run is checked against the simulator's truth with.
 */

export interface StoredAsset {
  key: string;
  hostId: string;
  status: string;
}

export interface StoredFinding {
  key: string;
  assetKey: string;
  cve: string;
  status: string;
  closedReason: string | null;
  /** The evidence Qualys reports now, as `qid/status` strings, sorted. */
  evidence: string[];
}

export interface StoreState {
  digest: string;
  /** The committed run the connection points at (none before the first commit). */
  currentRunKey: string | null;
  assets: StoredAsset[];
  findings: StoredFinding[];
}

const assetRow = z.object({ key: z.string(), host_id: z.coerce.string(), status: z.string() });
const findingRow = z.object({
  key: z.string(),
  asset_key: z.string(),
  cve: z.string(),
  status: z.string(),
  closed_reason: z.string().nullable(),
  evidence: z.array(z.object({ qid: z.string(), status: z.string() })).nullable(),
});

export async function readStoreState(pool: Pool, connection: string): Promise<StoreState> {
  const digest = await pool.query<{ digest: string | null }>(
    `SELECT md5(concat_ws('|',
       (SELECT string_agg(a::text, ',' ORDER BY a.key) FROM assets a WHERE a.connection = $1),
       (SELECT string_agg(f::text, ',' ORDER BY f.key) FROM findings f WHERE f.connection = $1),
       (SELECT c::text FROM connections c WHERE c.connection = $1))) AS digest`,
    [connection],
  );
  const current = await pool.query<{ run_key: string }>('SELECT run_key FROM connections WHERE connection = $1', [connection]);
  const assets = await pool.query('SELECT key, host_id, status FROM assets WHERE connection = $1 ORDER BY key', [connection]);
  const findings = await pool.query(
    `SELECT key, asset_key, cve, status, closed_reason, record->'evidence' AS evidence FROM findings WHERE connection = $1 ORDER BY key`,
    [connection],
  );
  return {
    digest: digest.rows[0]?.digest ?? '',
    currentRunKey: current.rows[0]?.run_key ?? null,
    assets: assets.rows.map((r) => {
      const row = assetRow.parse(r);
      return { key: row.key, hostId: row.host_id, status: row.status };
    }),
    findings: findings.rows.map((r) => {
      const row = findingRow.parse(r);
      return {
        key: row.key,
        assetKey: row.asset_key,
        cve: row.cve,
        status: row.status,
        closedReason: row.closed_reason,
        evidence: (row.evidence ?? []).map((e) => `${e.qid}/${e.status}`).sort(),
      };
    }),
  };
}

/** The Qualys API slots (advisory locks) held in the store's database right now. */
export async function heldSlots(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ held: string }>(
    `SELECT count(*) AS held FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return Number(rows[0]?.held ?? 0);
}
