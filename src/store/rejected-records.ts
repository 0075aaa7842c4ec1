import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import type { RunRef } from '../contracts/run';
import { inTransaction } from './with-client';

/** A record Qualys sent that could not be read (no host ID, no QID, a broken structure), as the reader set it aside. */
export const rejectedRecordRowSchema = z.object({
  /** The Qualys endpoint it came from (`hostDetection`, `knowledgeBase`, …). */
  api: z.string(),
  /** Its path from the root with its index and identity: `…HOST_LIST.HOST[3] (HOST ID 120)`. */
  path: z.string(),
  reason: z.string(),
  /** Its XML as read, at most 64 KiB. */
  xml: z.string(),
  /** The Qualys host ID it is about, when one could be read. */
  hostId: z.string().optional(),
});
export type RejectedRecordRow = z.infer<typeof rejectedRecordRowSchema>;

/** As `npm run export` writes them (`rejected_records.jsonl`): with the run and the page (1-based). */
export interface ExportedRejectedRecord extends RejectedRecordRow {
  run: string;
  page: number;
}

const MAX_XML_CHARS = 64 * 1024;

/**
 * Sets aside the rejected records of one page of a run, replacing what an earlier attempt of the page
 * set aside (a retried page reads the same records again), in one transaction.
 */
export async function replaceRejectedRecords(pool: Pool, run: RunRef, pageIndex: number, records: readonly RejectedRecordRow[]): Promise<void> {
  await inTransaction(pool, (client) => writeRejectedRecords(client, run, pageIndex, records));
}

/** As `replaceRejectedRecords`, inside the caller's transaction (the page's staging, fenced by its lease). */
export async function writeRejectedRecords(client: PoolClient, run: RunRef, pageIndex: number, records: readonly RejectedRecordRow[]): Promise<void> {
  await client.query('DELETE FROM rejected_records WHERE run_key = $1 AND page_index = $2', [run.runKey, pageIndex]);
  if (records.length === 0) return;
  await client.query(
    `INSERT INTO rejected_records (run_key, connection, page_index, api, record_path, reason, xml, host_id)
     SELECT $1, $2, $3, api, record_path, reason, xml, host_id
     FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[]) AS r(api, record_path, reason, xml, host_id)`,
    [
      run.runKey,
      run.connection,
      pageIndex,
      records.map((r) => r.api),
      records.map((r) => r.path),
      records.map((r) => r.reason),
      records.map((r) => r.xml.slice(0, MAX_XML_CHARS)),
      records.map((r) => r.hostId ?? null),
    ],
  );
}

/** What a run set aside against what it read, for the commit's `maxRejectedShare` check. */
export interface RejectedShare {
  /** Records the run's staged pages hold (hosts, host assets, hosts with detections) plus those set aside. */
  read: number;
  rejected: number;
  /** The first few, as `path: reason`. */
  first: string[];
}

/**
 * The share of a running run's records set aside, counted in the store (undefined once the run is no
 * longer running: a committed run's staging is gone, and its check was made). The records read are
 * counted from the staged pages only when some were set aside: that reads every staged answer.
 */
export async function rejectedShare(pool: Pool, runKey: string, firstCount = 3): Promise<RejectedShare | undefined> {
  const { rows } = await pool.query<{ status: string; rejected: string }>(
    'SELECT status, (SELECT count(*) FROM rejected_records WHERE run_key = $1) AS rejected FROM runs WHERE run_key = $1',
    [runKey],
  );
  const row = rows[0];
  if (row?.status !== 'running') return undefined;
  const rejected = Number(row.rejected);
  if (rejected === 0) return { read: 0, rejected, first: [] };
  const read = await pool.query<{ n: string }>(
    `SELECT coalesce(sum(jsonb_array_length(body)), 0) AS n FROM staged_fetches WHERE run_key = $1 AND part IN ('hosts', 'hostAssets', 'detections')`,
    [runKey],
  );
  const first = await pool.query<{ line: string }>(
    `SELECT record_path || ': ' || reason AS line FROM rejected_records WHERE run_key = $1 ORDER BY page_index, record_path LIMIT $2`,
    [runKey, firstCount],
  );
  return { read: Number(read.rows[0]?.n ?? 0) + rejected, rejected, first: first.rows.map((r) => r.line) };
}

/** How many records a run set aside. */
export async function countRejectedRecords(pool: Pool, runKey: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM rejected_records WHERE run_key = $1', [runKey]);
  return Number(rows[0]?.n ?? 0);
}

/** A run's rejected records, by page and path. */
export async function readRejectedRecords(pool: Pool, runKey: string): Promise<ExportedRejectedRecord[]> {
  const { rows } = await pool.query<{ record: ExportedRejectedRecord }>(`${REJECTED_RECORD_JSON} WHERE run_key = $1 ORDER BY page_index, record_path`, [runKey]);
  return rows.map((r) => r.record);
}

/** The rejected records of a run as `ExportedRejectedRecord` JSON (one `record` column). */
export const REJECTED_RECORD_JSON = `SELECT jsonb_build_object('run', run_key, 'page', page_index + 1, 'api', api, 'path', record_path,
  'reason', reason, 'xml', xml) || CASE WHEN host_id IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('hostId', host_id::text) END AS record
  FROM rejected_records`;
