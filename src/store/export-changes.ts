import { mkdir } from 'node:fs/promises';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import { assetSchema, findingSchema } from '../model/exposure';
import { assetChangeToOcsf, findingChangeToOcsf } from '../model/ocsf-change';
import { ChangeFeedRangeError } from './errors';
import { CONNECTION_SETTING, copyToFile, exportConnection, parseRecord, type ExportFile, type ExportFormat } from './export';
import { inTransaction } from './with-client';

/** Where a consumer's feed starts: after a run it has applied, from a time, or (none) from the oldest change kept. */
export type ChangesSince = { runKey: string } | { time: Date } | undefined;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/** `--since` as given: an ISO 8601 date or time (with its zone), else a run key. */
export function parseSince(value: string | undefined): ChangesSince {
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const ms = Date.parse(value);
    if (!ISO_TIME.test(value) || Number.isNaN(ms)) {
      throw new ChangeFeedRangeError(`--since ${value} is not an ISO 8601 time with its zone (e.g. 2026-12-01T06:00:00Z or 2026-12-01): give one, or a run key.`);
    }
    return { time: new Date(ms) };
  }
  if (value.trim() === '') throw new ChangeFeedRangeError('--since is empty: give a run key or an ISO 8601 time.');
  return { runKey: value };
}

/** One line of the JSON Lines feed. */
export const changeLineSchema = z.object({
  runKey: z.string(),
  committedAt: z.string(),
  entity: z.enum(['asset', 'finding', 'run']),
  key: z.string(),
  change: z.string(),
  followsAsset: z.boolean().optional(),
  record: z.unknown(),
});
export type ChangeLine = z.infer<typeof changeLineSchema>;

/** A feed row (of `change_feed` as `c`) as its JSON line. */
const LINE = `jsonb_build_object('runKey', c.run_key, 'committedAt', iso_utc(c.committed_at), 'entity', c.entity, 'key', c.key,
                'change', c.change, 'record', c.record)
              || CASE WHEN c.follows_asset IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('followsAsset', c.follows_asset) END`;

/** The feed of the connection after change id `after`, in commit order (`id` is a number read from the store). */
const feedQuery = (after: number): string =>
  `SELECT ${LINE} FROM change_feed c WHERE c.connection = ${exportConnection} AND c.id > ${after} ORDER BY c.id`;

// OCSF: each asset or finding change as an event; a finding's device is its asset as the store holds it
// now, or (deleted since) as the feed last had it. Run lines have no OCSF class and are left out.
const ocsfQuery = (after: number): string =>
  `SELECT jsonb_build_array(${LINE}, COALESCE(a.record, (
            SELECT l.record FROM run_changes l
             WHERE l.connection = c.connection AND l.entity = 'asset' AND l.key = c.record->>'assetKey'
             ORDER BY l.id DESC LIMIT 1)))
     FROM change_feed c LEFT JOIN current_assets a ON c.entity = 'finding' AND a.connection = c.connection AND a.key = c.record->>'assetKey'
    WHERE c.connection = ${exportConnection} AND c.id > ${after} AND c.entity <> 'run' ORDER BY c.id`;

const ocsfRowSchema = z.tuple([changeLineSchema, z.unknown()]);

function ocsfLine(json: string): string {
  const [line, assetRecord] = parseRecord(ocsfRowSchema, json);
  const recordJson = JSON.stringify(line.record);
  if (line.entity === 'asset') return JSON.stringify(assetChangeToOcsf(line, parseRecord(assetSchema, recordJson)));
  const finding = parseRecord(findingSchema, recordJson);
  const asset = parseRecord(assetSchema.nullable(), JSON.stringify(assetRecord ?? null));
  if (!asset) throw new ChangeFeedRangeError(`finding ${finding.key} has no asset ${finding.assetKey} in the store or the feed, so it has no OCSF device`);
  return JSON.stringify(findingChangeToOcsf(line, finding, asset));
}

const FILES: Record<ExportFormat, (after: number) => ExportFile> = {
  jsonl: (after) => ({ file: 'changes.jsonl', query: feedQuery(after) }),
  ocsf: (after) => ({ file: 'changes.ocsf.jsonl', query: ocsfQuery(after), line: ocsfLine }),
};

export interface ChangesExported {
  file: string;
  lines: number;
  /** The last run the file holds: the consumer's next `--since`. */
  lastRunKey?: string;
}

/**
 * Writes the connection's change feed after `since` into `dir`: `changes.jsonl` (one line per change,
 * see changeLineSchema) or `changes.ocsf.jsonl` (OCSF events). Refuses (ChangeFeedRangeError) a start
 * the feed cannot serve whole: an unknown run, or runs whose changes are no longer kept.
 */
export async function exportChanges(pool: Pool, connection: string, since: ChangesSince, dir: string, format: ExportFormat = 'jsonl'): Promise<ChangesExported> {
  await mkdir(dir, { recursive: true });
  return inTransaction(pool, async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await client.query('SELECT set_config($1, $2, true)', [CONNECTION_SETTING, connection]);
    const after = await startAfter(client, connection, since);
    const spec = FILES[format](after);
    const lines = await copyToFile(client, spec, dir);
    const { rows } = await client.query<{ run_key: string }>(
      `SELECT run_key FROM run_changes WHERE connection = $1 AND entity = 'run' AND id > $2 ORDER BY id DESC LIMIT 1`,
      [connection, after],
    );
    return { file: spec.file, lines, lastRunKey: rows[0]?.run_key };
  });
}

/** The change id the export starts after, once the feed is known to hold every change from there. */
async function startAfter(client: PoolClient, connection: string, since: ChangesSince): Promise<number> {
  const reseed = 'start again from `npm run export` (the current state) and then --since the run key it belongs to (connections.run_key)';
  if (since && 'runKey' in since) {
    const { rows } = await client.query<{ connection: string; status: string; id: string | null }>(
      `SELECT r.connection, r.status, (SELECT c.id FROM run_changes c WHERE c.run_key = r.run_key AND c.entity = 'run') AS id
         FROM runs r WHERE r.run_key = $1`,
      [since.runKey],
    );
    const run = rows[0];
    if (!run || run.connection !== connection) throw new ChangeFeedRangeError(`--since ${since.runKey}: connection "${connection}" has no such run; give a run key from the feed (runKey) or a time.`);
    if (run.status !== 'committed') throw new ChangeFeedRangeError(`--since ${since.runKey}: that run of connection "${connection}" did not commit (${run.status}), so the feed has no place for it; give the last run key you applied.`);
    if (run.id === null) throw new ChangeFeedRangeError(`--since ${since.runKey}: the changes of that run are no longer kept (older than the feed's retention, or before the feed existed); ${reseed}.`);
    return Number(run.id);
  }
  const from = since?.time ?? null;
  const { rows: missing } = await client.query<{ run_key: string; committed_at: Date }>(
    `SELECT run_key, committed_at FROM runs r
      WHERE r.connection = $1 AND r.status = 'committed' AND ($2::timestamptz IS NULL OR r.committed_at >= $2)
        AND NOT EXISTS (SELECT 1 FROM run_changes c WHERE c.run_key = r.run_key AND c.entity = 'run')
      ORDER BY committed_at DESC LIMIT 1`,
    [connection, from],
  );
  const gone = missing[0];
  if (gone) {
    throw new ChangeFeedRangeError(
      `the feed no longer holds the changes of run ${gone.run_key} (committed ${gone.committed_at.toISOString()}) of connection "${connection}": they are older than its retention, or before it existed; ${reseed}.`,
    );
  }
  if (!from) return 0;
  const { rows } = await client.query<{ id: string | null }>(
    `SELECT min(id) - 1 AS id FROM change_feed WHERE connection = $1 AND committed_at >= $2`,
    [connection, from],
  );
  return rows[0]?.id === null || rows[0]?.id === undefined ? Number.MAX_SAFE_INTEGER : Number(rows[0].id);
}
