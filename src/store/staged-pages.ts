import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { z } from 'zod';
import type { PageRange, RunRef } from '../activities/contracts';
import type { Asset, Finding } from '../model/exposure';
import { copyField, copyRows } from './copy-rows';
import { StagedPageMissingError } from './errors';
import { ASSET_COLUMNS, FINDING_COLUMNS, assetRow, findingRow } from './staged-rows';
import { withClient } from './with-client';

/**
 * A page's Host List Detection answer in staging without ever being one value in memory: staged as the
 * JSON its hosts were serialised to while the body was parsed, and read back host by host (PostgreSQL
 * unnests the array) when the page is mapped and uploaded. The layout is the one `stagePart` writes:
 * one `staged_fetches` row per part, so either side reads what the other wrote.
 */

/** Hosts per round trip when a staged page is read back: a few thousand detections at a time. */
const HOSTS_PER_FETCH = 100;

/**
 * Stages the detections part (a JSON array whose elements are `hostJson`, each one host already
 * serialised) with the page's distinct QIDs, both or neither; replaces what an earlier attempt staged.
 */
export async function stageDetections(
  pool: Pool,
  run: RunRef,
  page: PageRange,
  hostJson: readonly string[],
  qids: readonly string[],
): Promise<void> {
  await transaction(pool, async (client) => {
    await expectRunning(client, run);
    await client.query('DELETE FROM staged_fetches WHERE run_key = $1 AND page_index = $2 AND part = ANY($3)', [
      run.runKey,
      page.index,
      ['detections', 'qids'],
    ]);
    const prefix = `${copyField(run.runKey)}\t${page.index}\tdetections\t[`;
    const sink = client.query(copyFrom('COPY staged_fetches (run_key, page_index, part, body) FROM STDIN'));
    await pipeline(Readable.from(jsonArrayRow(prefix, hostJson)), sink);
    await client.query('INSERT INTO staged_fetches (run_key, page_index, part, body) VALUES ($1, $2, $3, $4)', [
      run.runKey,
      page.index,
      'qids',
      JSON.stringify(qids),
    ]);
  });
}

/** COPY's text format for one row ending in the JSON array: backslashes doubled (JSON has no raw tabs or newlines). */
function* jsonArrayRow(prefix: string, elements: readonly string[]): Generator<string> {
  let chunk = prefix;
  for (let i = 0; i < elements.length; i++) {
    const element = elements[i] as string;
    chunk += (i === 0 ? '' : ',') + (element.includes('\\') ? element.replace(/\\/g, '\\\\') : element);
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}]\n`;
}

/** What the detections part of a staged page holds, counted in the store; undefined when it is not staged. */
export async function stagedDetectionTotals(pool: Pool, run: RunRef, page: PageRange): Promise<{ hosts: number; detections: number } | undefined> {
  const { rows } = await pool.query(
    `SELECT jsonb_array_length(body) AS hosts,
            (SELECT coalesce(sum(jsonb_array_length(h->'detections')), 0) FROM jsonb_array_elements(body) h) AS detections
     FROM staged_fetches WHERE run_key = $1 AND page_index = $2 AND part = 'detections'`,
    [run.runKey, page.index],
  );
  if (rows.length === 0) return undefined;
  const totals = z.object({ hosts: z.coerce.number(), detections: z.coerce.number() }).parse(rows[0]);
  return totals;
}

/** The distinct QIDs of a staged page (from its `qids` part, else from its detections); undefined when neither is staged. */
export async function stagedPageQids(pool: Pool, run: RunRef, page: PageRange): Promise<string[] | undefined> {
  const staged = await pool.query<{ body: unknown }>(
    `SELECT body FROM staged_fetches WHERE run_key = $1 AND page_index = $2 AND part = 'qids'`,
    [run.runKey, page.index],
  );
  if (staged.rows[0]) return z.array(z.string()).parse(staged.rows[0].body);
  const derived = await pool.query<{ qid: string; staged: boolean }>(
    `SELECT DISTINCT d->>'qid' AS qid FROM staged_fetches s, jsonb_array_elements(s.body) h, jsonb_array_elements(h->'detections') d
     WHERE s.run_key = $1 AND s.page_index = $2 AND s.part = 'detections'`,
    [run.runKey, page.index],
  );
  if (derived.rows.length > 0) return derived.rows.map((r) => r.qid);
  const present = await pool.query(`SELECT 1 FROM staged_fetches WHERE run_key = $1 AND page_index = $2 AND part = 'detections'`, [
    run.runKey,
    page.index,
  ]);
  return (present.rowCount ?? 0) > 0 ? [] : undefined;
}

/** How a staged page becomes records: findings per batch of staged hosts, then the page's assets. */
export interface StagedPageMapping<Host> {
  /** The findings of these hosts (each a staged element of the detections part, as JSON parsed). */
  findings(hosts: readonly Host[]): readonly Finding[];
  /** The page's assets, once every staged host has been through `findings`. */
  assets(): readonly Asset[];
}

/**
 * Maps and uploads a staged page in one transaction, replacing what an earlier upload wrote: its
 * detections are read back a hundred hosts at a time (a cursor), each batch's findings written with
 * COPY before the next is read, so neither the page nor its findings are ever whole in memory — and
 * the worker's event loop gets a turn between batches.
 */
export async function uploadStagedPage<Host>(pool: Pool, run: RunRef, page: PageRange, mapping: StagedPageMapping<Host>): Promise<void> {
  await transaction(pool, async (client) => {
    await expectRunning(client, run);
    const staged = await client.query(`SELECT 1 FROM staged_fetches WHERE run_key = $1 AND page_index = $2 AND part = 'detections'`, [
      run.runKey,
      page.index,
    ]);
    if ((staged.rowCount ?? 0) === 0) throw pageNotStaged(run, page);
    await client.query('DELETE FROM staged_assets WHERE run_key = $1 AND page_index = $2', [run.runKey, page.index]);
    await client.query('DELETE FROM staged_findings WHERE run_key = $1 AND page_index = $2', [run.runKey, page.index]);
    await client.query(
      `DECLARE staged_hosts NO SCROLL CURSOR FOR
       SELECT h FROM staged_fetches s, jsonb_array_elements(s.body) WITH ORDINALITY AS e(h, n)
       WHERE s.run_key = $1 AND s.page_index = $2 AND s.part = 'detections' ORDER BY n`,
      [run.runKey, page.index],
    );
    for (;;) {
      const { rows } = await client.query<{ h: Host }>(`FETCH ${HOSTS_PER_FETCH} FROM staged_hosts`);
      if (rows.length === 0) break;
      const findings = mapping.findings(rows.map((r) => r.h));
      // Rows are built as COPY sends them, so each dies young rather than all living until the batch is sent.
      if (findings.length > 0) await copyRows(client, 'staged_findings', FINDING_COLUMNS, rowsOf(findings, (f) => findingRow(run, page, f)));
    }
    await client.query('CLOSE staged_hosts');
    await copyRows(client, 'staged_assets', ASSET_COLUMNS, rowsOf(mapping.assets(), (a) => assetRow(run, page, a)));
    await client.query('UPDATE run_pages SET uploaded_at = now() WHERE run_key = $1 AND page_index = $2', [run.runKey, page.index]);
  });
}

function* rowsOf<T>(records: readonly T[], row: (record: T) => Array<string | number>): Generator<Array<string | number>> {
  for (const record of records) yield row(record);
}

async function transaction<T>(pool: Pool, body: (client: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

/** Shares the run row: a run ending (or abandoned) waits for this write, then sees its staging go. */
async function expectRunning(client: PoolClient, run: RunRef): Promise<void> {
  const { rows } = await client.query<{ status: string }>('SELECT status FROM runs WHERE run_key = $1 FOR SHARE', [run.runKey]);
  if (rows[0]?.status !== 'running') {
    throw new StagedPageMissingError(
      `Run ${run.runKey} of connection ${run.connection} is no longer running (it was cancelled, failed, or a later run took over): nothing more is staged for it.`,
    );
  }
}

function pageNotStaged(run: RunRef, page: PageRange): StagedPageMissingError {
  return new StagedPageMissingError(
    `Page ${page.index + 1} (hosts ${page.idMin}–${page.idMax}) of run ${run.runKey} is not staged in the store: its run was abandoned or its staging cleared. Start a new run.`,
  );
}
