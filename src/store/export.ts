import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { pipeline } from 'node:stream/promises';
import type { Pool } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { REJECTED_RECORD_JSON } from './rejected-records';
import { withClient } from './with-client';

/**
 * The current-state views, as the model's records (JSON Schema in schema/), in key order; and the
 * records the connection's current run could not read (`rejected-records.ts`), by page and path.
 */
const CURRENT = {
  assets: 'SELECT record FROM current_assets WHERE connection = $1 ORDER BY key',
  findings: 'SELECT record FROM current_findings WHERE connection = $1 ORDER BY key',
  rejected_records: `${REJECTED_RECORD_JSON} WHERE run_key = (SELECT run_key FROM connections WHERE connection = $1) ORDER BY page_index, record_path`,
} as const;

export type RecordKind = keyof typeof CURRENT;

/** The connection's current records of one kind (for small estates and tests; export streams). */
export async function readCurrent<T>(pool: Pool, connection: string, kind: RecordKind): Promise<T[]> {
  const { rows } = await pool.query<{ record: T }>(CURRENT[kind], [connection]);
  return rows.map((r) => r.record);
}

/**
 * Writes `<dir>/assets.jsonl` and `<dir>/findings.jsonl`: the connection's current state, removed assets
 * and closed findings included, one record per line; and `<dir>/rejected_records.jsonl`: the records its
 * current run could not read. Streamed with COPY, so memory stays flat; each file
 * appears whole (written aside, then renamed).
 */
export async function exportCurrentState(pool: Pool, connection: string, dir: string): Promise<Record<RecordKind, number>> {
  await mkdir(dir, { recursive: true });
  const counts: Record<RecordKind, number> = { assets: 0, findings: 0, rejected_records: 0 };
  await withClient(pool, async (client) => {
    for (const kind of Object.keys(CURRENT) as RecordKind[]) {
      const file = path.join(dir, `${kind}.jsonl`);
      const temp = `${file}.${process.pid}.tmp`;
      // COPY takes no parameters: the connection name goes in as an escaped literal.
      const sql = CURRENT[kind].replace('$1', client.escapeLiteral(connection));
      await pipeline(client.query(copyTo(`COPY (${sql}) TO STDOUT`)), unescapeCopyText(() => (counts[kind] += 1)), createWriteStream(temp));
      await rename(temp, file);
    }
  });
  return counts;
}

/**
 * COPY's text format escapes backslashes (JSON text from jsonb holds no raw tab or newline, so that is
 * the only escape it can contain); one row per line.
 */
function unescapeCopyText(onLine: () => void): Transform {
  // A multi-byte character can be split across chunks: the decoder holds its first bytes back.
  const decoder = new StringDecoder('utf8');
  let rest = '';
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const text = rest + decoder.write(chunk);
      const end = text.lastIndexOf('\n') + 1;
      rest = text.slice(end);
      const lines = text.slice(0, end);
      for (let i = lines.indexOf('\n'); i !== -1; i = lines.indexOf('\n', i + 1)) onLine();
      done(null, lines.replace(/\\\\/g, '\\'));
    },
    flush(done) {
      done(null, (rest + decoder.end()).replace(/\\\\/g, '\\'));
    },
  });
}
