import type { Pool } from 'pg';
import type { RunRef } from '../contracts/run';
import { inTransaction } from './with-client';

/** A record Qualys sent that could not be read (no host ID, no QID, a broken structure), as the reader set it aside. */
export interface RejectedRecordRow {
  /** The Qualys endpoint it came from (`hostDetection`, `knowledgeBase`, …). */
  api: string;
  /** Its path from the root with its index and identity: `…HOST_LIST.HOST[3] (HOST ID 120)`. */
  path: string;
  reason: string;
  /** Its XML as read, at most 64 KiB. */
  xml: string;
}

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
  await inTransaction(pool, async (client) => {
    await client.query('DELETE FROM rejected_records WHERE run_key = $1 AND page_index = $2', [run.runKey, pageIndex]);
    if (records.length === 0) return;
    await client.query(
      `INSERT INTO rejected_records (run_key, connection, page_index, api, record_path, reason, xml)
       SELECT $1, $2, $3, api, record_path, reason, xml FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) AS r(api, record_path, reason, xml)`,
      [
        run.runKey,
        run.connection,
        pageIndex,
        records.map((r) => r.api),
        records.map((r) => r.path),
        records.map((r) => r.reason),
        records.map((r) => r.xml.slice(0, MAX_XML_CHARS)),
      ],
    );
  });
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
  'reason', reason, 'xml', xml) AS record FROM rejected_records`;
