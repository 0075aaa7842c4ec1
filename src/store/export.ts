import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { z } from 'zod';
import { assetSchema, findingSchema } from '../model/exposure';
import { assetToOcsf, findingToOcsf } from '../model/ocsf';
import { ExportRecordError } from './errors';
import { REJECTED_RECORD_JSON } from './rejected-records';
import { inTransaction } from './with-client';

/** A current-state view's records for one connection (given as an SQL expression), in key order. */
const currentRecords = (view: 'current_assets' | 'current_findings', connection: string): string =>
  `SELECT record FROM ${view} WHERE connection = ${connection} ORDER BY key`;

/** The records the connection's current run could not read (`rejected-records.ts`), by page and path. */
const rejectedRecords = (connection: string): string =>
  `${REJECTED_RECORD_JSON} WHERE run_key = (SELECT run_key FROM connections WHERE connection = ${connection}) ORDER BY page_index, record_path`;

/** The current-state views, as the model's records (JSON Schema in schema/), and the rejected records. */
const CURRENT = {
  assets: currentRecords('current_assets', '$1'),
  findings: currentRecords('current_findings', '$1'),
  rejected_records: rejectedRecords('$1'),
} as const;

export type RecordKind = keyof typeof CURRENT;

/** What `npm run export` writes: the model's records as JSON Lines, or OCSF events. */
export const EXPORT_FORMATS = ['jsonl', 'ocsf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The connection's current records of one kind (for small estates and tests; export streams). */
export async function readCurrent<T>(pool: Pool, connection: string, kind: RecordKind): Promise<T[]> {
  const { rows } = await pool.query<{ record: T }>(CURRENT[kind], [connection]);
  return rows.map((r) => r.record);
}

// COPY takes no bind parameters, so the connection name is handed to it as a transaction-local
// setting, set with a parameterised query, and read back inside the COPY's query.
export const CONNECTION_SETTING = 'qualys_connector.export_connection';
export const exportConnection = `current_setting('${CONNECTION_SETTING}')`;

export interface ExportFile {
  /** The file's name in the export folder. */
  file: string;
  /** One JSON value per row. */
  query: string;
  /** Turns a row's JSON into the line written (identity for the model's own records). */
  line?: (json: string) => string;
}

const findingWithAssetSchema = z.tuple([findingSchema, assetSchema.nullable()]);

// Rejected records are Qualys' own XML with why it could not be read: no OCSF class fits them, so both
// formats write them as they are.
const REJECTED_FILE: ExportFile = { file: 'rejected_records.jsonl', query: rejectedRecords(exportConnection) };

const FILES: Record<ExportFormat, Record<RecordKind, ExportFile>> = {
  jsonl: {
    assets: { file: 'assets.jsonl', query: currentRecords('current_assets', exportConnection) },
    findings: { file: 'findings.jsonl', query: currentRecords('current_findings', exportConnection) },
    rejected_records: REJECTED_FILE,
  },
  ocsf: {
    assets: {
      file: 'devices.ocsf.jsonl',
      query: currentRecords('current_assets', exportConnection),
      line: (json) => JSON.stringify(assetToOcsf(parseRecord(assetSchema, json))),
    },
    findings: {
      file: 'vulnerability-findings.ocsf.jsonl',
      query: `SELECT jsonb_build_array(f.record, a.record)
              FROM current_findings f LEFT JOIN current_assets a ON a.connection = f.connection AND a.key = f.asset_key
              WHERE f.connection = ${exportConnection} ORDER BY f.key`,
      line: (json) => {
        const [finding, asset] = parseRecord(findingWithAssetSchema, json);
        if (!asset) throw new ExportRecordError(`finding ${finding.key} has no asset ${finding.assetKey} in the store, so it has no OCSF device; run the connector again to repair the store`);
        return JSON.stringify(findingToOcsf(finding, asset));
      },
    },
    rejected_records: REJECTED_FILE,
  },
};

export function parseRecord<T>(schema: z.ZodType<T>, json: string): T {
  const parsed = schema.safeParse(JSON.parse(json));
  if (!parsed.success) {
    throw new ExportRecordError(`a stored record does not follow the exposure model, so it cannot be exported as OCSF: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** The files an export in this format writes, by kind. */
export function exportFileNames(format: ExportFormat): Record<RecordKind, string> {
  return { assets: FILES[format].assets.file, findings: FILES[format].findings.file, rejected_records: FILES[format].rejected_records.file };
}

/**
 * Writes the connection's current state into `dir`, removed assets and closed findings included, one
 * record per line: as the model's records (`assets.jsonl`, `findings.jsonl`) or as OCSF events
 * (`devices.ocsf.jsonl`, `vulnerability-findings.ocsf.jsonl`); and in both formats
 * `rejected_records.jsonl`, the records the connection's current run could not read. All files are
 * read from one snapshot of the store; streamed with COPY, so memory stays flat; each file appears
 * whole (written aside, then renamed).
 */
export async function exportCurrentState(pool: Pool, connection: string, dir: string, format: ExportFormat = 'jsonl'): Promise<Record<RecordKind, number>> {
  await mkdir(dir, { recursive: true });
  const counts: Record<RecordKind, number> = { assets: 0, findings: 0, rejected_records: 0 };
  await inTransaction(pool, async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await client.query('SELECT set_config($1, $2, true)', [CONNECTION_SETTING, connection]);
    for (const kind of Object.keys(counts) as RecordKind[]) {
      counts[kind] = await copyToFile(client, FILES[format][kind], dir);
    }
  });
  return counts;
}

export async function copyToFile(client: PoolClient, spec: ExportFile, dir: string): Promise<number> {
  const file = path.join(dir, spec.file);
  const temp = `${file}.${process.pid}.tmp`;
  let lines = 0;
  try {
    await pipeline(
      client.query(copyTo(`COPY (${spec.query}) TO STDOUT`)),
      copyTextLines((line) => {
        lines += 1;
        return spec.line ? spec.line(line) : line;
      }),
      createWriteStream(temp),
    );
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await rename(temp, file);
  return lines;
}

/**
 * COPY's text format, one row per line, as the rows' own text: COPY escapes backslashes (JSON text
 * from jsonb holds no raw tab or newline, so that is the only escape it can contain). Each line is
 * passed through `map` on its way out.
 */
function copyTextLines(map: (line: string) => string): Transform {
  // A multi-byte character can be split across chunks: the decoder holds its first bytes back.
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const mapLines = (text: string): string => {
    let out = '';
    for (const line of text.split('\n')) if (line !== '') out += `${map(line.replace(/\\\\/g, '\\'))}\n`;
    return out;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const text = rest + decoder.write(chunk);
      const end = text.lastIndexOf('\n') + 1;
      rest = text.slice(end);
      try {
        done(null, mapLines(text.slice(0, end)));
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    },
    flush(done) {
      try {
        done(null, mapLines(rest + decoder.end()));
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    },
  });
}
