import { finished as streamFinished } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom, type CopyStreamQuery } from 'pg-copy-streams';
import { z } from 'zod';
import type { PageRange, RunRef } from '../contracts/run';
import type { Asset, Finding } from '../model/exposure';
import type { StagedPart } from './types';
import { copyField, copyRows } from './copy-rows';
import { StagedPageMissingError } from './errors';
import { ASSET_COLUMNS, FINDING_COLUMNS, assetRow, findingRow } from './staged-rows';
import { confirmPageLease, lockPage, takePageLease } from './page-lease';
import { PAGE_ASSETS, PAGE_FINDINGS, discardPageChanges, openPageTables, stagePageChanges } from './page-changes';
import { writeRejectedRecords, type RejectedRecordRow } from './rejected-records';
import { readStaged } from './staged-record';
import { checkOut, transactionOn, withClient } from './with-client';

/**
 * A page's Host List Detection answer in staging without ever being one value in memory: staged as the
 * JSON its hosts were serialised to while the body was parsed, and read back host by host (PostgreSQL
 * unnests the array) when the page is mapped and uploaded. One `staged_fetches` row per part, as
 * staging written by earlier versions also has it, so pages staged by either are read alike.
 */

/** Hosts per round trip when a staged page is read back: a few thousand detections at a time. */
const HOSTS_PER_FETCH = 100;

/** A part staged beside the streamed one, in the same transaction (e.g. the page's QIDs). */
export interface ExtraPart {
  part: StagedPart;
  body: unknown;
}

/**
 * Stages one part of a page (a JSON array: one element per record) while its records are still being
 * read from Qualys: `produce` hands over each record's JSON as it is parsed, and it goes on to the store
 * with COPY at once, so the page is never whole in the worker's memory. The transaction opens with the
 * first record (not while Qualys thinks), and commits only once `produce` has finished — with the parts
 * `extra` returns then — so a body cut short, or any failure, stages nothing. Replaces what an earlier
 * attempt staged.
 */
export async function stageStreamedPart(
  pool: Pool,
  run: RunRef,
  page: PageRange,
  part: StagedPart,
  produce: (emit: (json: string) => void) => Promise<void>,
  extra: () => readonly ExtraPart[] = () => [],
): Promise<void> {
  let session: CopySession | undefined;
  let opening: Promise<void> | undefined;
  let failure: { error: unknown } | undefined;
  const pending: string[] = [];
  let elements = 0;
  const open = (): Promise<void> => {
    opening ??= openCopy(pool, run, page, part).then(
      (opened) => {
        session = opened;
        for (const text of pending) opened.copy.write(text);
        pending.length = 0;
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    return opening;
  };
  try {
    await produce((json) => {
      if (failure !== undefined) throw failure.error;
      const text = (elements++ === 0 ? '' : ',') + (json.includes('\\') ? json.replace(/\\/g, '\\\\') : json);
      if (session !== undefined) session.copy.write(text);
      else {
        pending.push(text);
        void open();
      }
    });
    const more = extra();
    await open();
    if (failure !== undefined) throw failure.error;
    const opened = session;
    if (opened === undefined) throw new Error('staging: the COPY session did not open');
    opened.copy.end(']\n');
    await opened.finished;
    for (const p of more) {
      await opened.client.query('DELETE FROM staged_fetches WHERE run_key = $1 AND page_index = $2 AND part = $3', [run.runKey, page.index, p.part]);
      await opened.client.query('INSERT INTO staged_fetches (run_key, page_index, part, body) VALUES ($1, $2, $3, $4)', [
        run.runKey,
        page.index,
        p.part,
        JSON.stringify(p.body),
      ]);
    }
    await opened.client.query('COMMIT');
    opened.release();
  } catch (error) {
    // Whatever was sent is rolled back with the connection: nothing of this attempt stays staged.
    await opening?.catch(() => undefined);
    session?.abandon(error);
    throw error;
  }
}

interface CopySession {
  client: PoolClient;
  copy: CopyStreamQuery;
  /** Resolves once PostgreSQL has taken the whole row. */
  finished: Promise<void>;
  release(): void;
  abandon(error: unknown): void;
}

/** A transaction on a connection of its own, the run checked as running, the part's old row gone and its COPY begun. */
async function openCopy(pool: Pool, run: RunRef, page: PageRange, part: StagedPart): Promise<CopySession> {
  // A connection left mid-COPY or mid-transaction is closed by `release(error)`, not reused: that also rolls back.
  const { client, release } = await checkOut(pool);
  try {
    await client.query('BEGIN');
    await expectRunning(client, run);
    await client.query('DELETE FROM staged_fetches WHERE run_key = $1 AND page_index = $2 AND part = $3', [run.runKey, page.index, part]);
    const copy = client.query(copyFrom('COPY staged_fetches (run_key, page_index, part, body) FROM STDIN'));
    const finished = streamFinished(copy);
    finished.catch(() => undefined); // observed when the row is complete; an early failure also fails the next write
    copy.write(`${copyField(run.runKey)}\t${page.index}\t${copyField(part)}\t[`);
    const abandon = (error: unknown): void => {
      copy.destroy();
      release(error);
    };
    return { client, copy, finished, release: () => release(), abandon };
  } catch (error) {
    release(error);
    throw error;
  }
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

/**
 * The QIDs of each of these staged pages that the connection's QID → CVE cache does not know, in one
 * query. A page whose QIDs are not staged beside its detections is left out (it waits for the run's final
 * lookup).
 */
export async function unknownQidsOfPages(pool: Pool, run: RunRef, pages: readonly number[]): Promise<Array<{ page: number; qids: string[] }>> {
  const { rows } = await pool.query<{ page_index: number; qids: string[] }>(
    `SELECT s.page_index,
            ARRAY(SELECT q FROM jsonb_array_elements_text(s.body) q
                  WHERE NOT EXISTS (SELECT 1 FROM knowledge_base k WHERE k.connection = $3 AND k.qid = q)) AS qids
     FROM staged_fetches s WHERE s.run_key = $1 AND s.part = 'qids' AND s.page_index = ANY($2::int[])`,
    [run.runKey, pages, run.connection],
  );
  return rows.map((r) => ({ page: r.page_index, qids: r.qids }));
}

/** How a staged page becomes records: findings per batch of staged hosts, then the page's assets. */
export interface StagedPageMapping<Host> {
  /** The schema each staged element of the detections part was staged by, and is read back through. */
  readonly hostSchema: z.ZodType<Host>;
  /** The findings of these hosts (each a staged element of the detections part, read back). */
  findings(hosts: readonly Host[]): readonly Finding[];
  /** The page's assets, once every staged host has been through `findings`, each with the QIDs detected on it. */
  assets(): ReadonlyArray<{ asset: Asset; qids: readonly string[] }>;
}

/**
 * Maps and uploads a staged page in one transaction, replacing what an earlier upload wrote: its
 * detections are read back a hundred hosts at a time (a cursor), each batch's findings written with
 * COPY before the next is read, so neither the page nor its findings are ever whole in memory — and
 * the worker's event loop gets a turn between batches.
 */
export async function uploadStagedPage<Host>(
  pool: Pool,
  run: RunRef,
  page: PageRange,
  mapping: StagedPageMapping<Host>,
  attempt: number,
  rejected?: readonly RejectedRecordRow[],
): Promise<void> {
  await withLeasedPage(pool, run, page, attempt, rejected, async (client) => {
    const staged = await client.query(`SELECT 1 FROM staged_fetches WHERE run_key = $1 AND page_index = $2 AND part = 'detections'`, [
      run.runKey,
      page.index,
    ]);
    if ((staged.rowCount ?? 0) === 0) throw pageNotStaged(run, page);
    await client.query(
      `DECLARE staged_hosts NO SCROLL CURSOR FOR
       SELECT h FROM staged_fetches s, jsonb_array_elements(s.body) WITH ORDINALITY AS e(h, n)
       WHERE s.run_key = $1 AND s.page_index = $2 AND s.part = 'detections' ORDER BY n`,
      [run.runKey, page.index],
    );
    for (;;) {
      const { rows } = await client.query<{ h: unknown }>(`FETCH ${HOSTS_PER_FETCH} FROM staged_hosts`);
      if (rows.length === 0) break;
      const findings = mapping.findings(rows.map((r) => readStaged(mapping.hostSchema, r.h, run, page, 'Host List Detection host')));
      // Rows are built as COPY sends them, so each dies young rather than all living until the batch is sent.
      if (findings.length > 0) await copyRows(client, PAGE_FINDINGS, FINDING_COLUMNS, rowsOf(findings, (f) => findingRow(run, page, f)));
    }
    await client.query('CLOSE staged_hosts');
    await copyRows(client, PAGE_ASSETS, ASSET_COLUMNS, rowsOf(mapping.assets(), (a) => assetRow(run, page, a.asset, a.qids)));
  });
}

/**
 * Applies a page as one attempt (see page-lease.ts): the page's lease taken, then in one transaction —
 * the run checked as running, the page locked, what an earlier attempt staged removed — `write` writes
 * the page's mapped records to PAGE_ASSETS and PAGE_FINDINGS, what they change is staged (see
 * page-changes.ts), the page's rejected records replace what an earlier attempt set aside, and the
 * page is marked uploaded only if the lease is still this attempt's: a stale attempt writes none of it.
 */
export async function withLeasedPage(
  pool: Pool,
  run: RunRef,
  page: PageRange,
  attempt: number,
  /** The page's rejected records; undefined leaves what the page set aside as it is. */
  rejected: readonly RejectedRecordRow[] | undefined,
  write: (client: PoolClient) => Promise<void>,
): Promise<void> {
  await withClient(pool, async (client) => {
    await takePageLease(client, run, page, attempt);
    await transactionOn(client, async () => {
      await lockPage(client, run, page);
      const { mode } = await expectRunning(client, run);
      await discardPageChanges(client, run, page);
      await openPageTables(client);
      await write(client);
      await stagePageChanges(client, run, page, mode === 'incremental');
      if (rejected !== undefined) await writeRejectedRecords(client, run, page.index, rejected);
      await confirmPageLease(client, run, page, attempt);
    });
  });
}

function* rowsOf<T>(records: readonly T[], row: (record: T) => Array<string | number>): Generator<Array<string | number>> {
  for (const record of records) yield row(record);
}


/** Shares the run row: a run ending (or abandoned) waits for this write, then sees its staging go. */
async function expectRunning(client: PoolClient, run: RunRef): Promise<{ mode: string }> {
  const { rows } = await client.query<{ status: string; mode: string }>('SELECT status, mode FROM runs WHERE run_key = $1 FOR SHARE', [run.runKey]);
  const row = rows[0];
  if (row?.status !== 'running') {
    throw new StagedPageMissingError(
      `Run ${run.runKey} of connection ${run.connection} is no longer running (it was cancelled, failed, or a later run took over): nothing more is staged for it.`,
    );
  }
  return { mode: row.mode };
}

function pageNotStaged(run: RunRef, page: PageRange): StagedPageMissingError {
  return new StagedPageMissingError(
    `Page ${page.index + 1} (hosts ${page.idMin}–${page.idMax}) of run ${run.runKey} is not staged in the store: its run was abandoned or its staging cleared. Start a new run.`,
  );
}
