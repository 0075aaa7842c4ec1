import type { Pool, PoolClient } from 'pg';
import type { z } from 'zod';
import type { CallLogEntry } from '../contracts/calls';
import type { CommitResult, PageRange, RunPlan, RunRef } from '../contracts/run';
import type { Asset, Finding } from '../model/exposure';
import { clearStaging } from './clear-staging';
import { commitRun } from './commit';
import { copyRows } from './copy-rows';
import { ASSET_COLUMNS, FINDING_COLUMNS, assetRow, findingRow } from './staged-rows';
import { stageStreamedPart, stagedDetectionTotals, stagedPageQids, unknownQidsOfPages, uploadStagedPage, withLeasedPage, type ExtraPart, type StagedPageMapping } from './staged-pages';
import { inTransaction } from './with-client';
import type { CommitPolicy, ConnectionState, KnowledgeBaseEntry, RunReport, StagedPart } from './types';
import { StagedPageMissingError } from './errors';
import { asDataDefect } from './data-defect';
import { PAGE_ASSETS, PAGE_FINDINGS, discardUncommittedAdditions } from './page-changes';
import { rejectedShare, type RejectedRecordRow, type RejectedShare } from './rejected-records';
import { readStaged } from './staged-record';

/** Host IDs per query when a run's whole ID set is compared with the store. */
const HOST_ID_SLICE = 50_000;

/**
 * The exposure store, on PostgreSQL: a run's staging, the connection's current state,
 * the KnowledgeBase cache and run reports. Every worker on every machine sees the same store, so any
 * step of a run can run anywhere. Every write is idempotent.
 */
export class ExposureStore {
  constructor(readonly pool: Pool) {}

  private transaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, body);
  }

  /**
   * Records the run and its page list (replacing the list a failed attempt may have left). Staging left
   * by the connection's earlier runs that never committed (failed, terminated) is cleared: only one run
   * per connection works at a time, so they are over.
   */
  async beginRun(
    run: RunRef,
    pages: readonly PageRange[],
    hostCount: number,
    options: { plan?: RunPlan; hostIds?: readonly number[]; pageHostIds?: ReadonlyArray<readonly number[]> } = {},
  ): Promise<void> {
    const plan = options.plan ?? { mode: 'full', reason: 'a full run' };
    await this.transaction(async (client) => {
      const abandoned = await client.query<{ run_key: string }>(
        `UPDATE runs SET status = 'abandoned' WHERE connection = $1 AND status = 'running' AND run_key <> $2 RETURNING run_key`,
        [run.connection, run.runKey],
      );
      const stale = abandoned.rows.map((r) => r.run_key);
      if (stale.length > 0) {
        await discardUncommittedAdditions(client, stale);
        await clearStaging(client, stale);
      }
      await client.query(
        `INSERT INTO runs (run_key, connection, workflow_id, started_at, host_count, mode, since) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (run_key) DO UPDATE SET host_count = excluded.host_count, mode = excluded.mode, since = excluded.since`,
        [run.runKey, run.connection, run.workflowId, run.startedAt, hostCount, plan.mode, plan.since ?? null],
      );
      await client.query('DELETE FROM run_hosts WHERE run_key = $1', [run.runKey]);
      // Row by row as COPY takes them: a million-host set never becomes a million arrays at once.
      if (options.hostIds) await copyRows(client, 'run_hosts', ['run_key', 'host_id'], hostRows(run.runKey, options.hostIds));
      await client.query('DELETE FROM run_pages WHERE run_key = $1', [run.runKey]);
      await copyRows(
        client,
        'run_pages',
        ['run_key', 'page_index', 'id_min', 'id_max', 'hosts', 'host_ids'],
        pages.map((p) => [run.runKey, p.index, p.idMin, p.idMax, p.hosts, options.pageHostIds?.[p.index] ? `{${options.pageHostIds[p.index].join(',')}}` : null]),
      );
    });
    // The commit's "assets no longer in the host ID set" statement is planned on run_hosts' statistics.
    // Left to autovacuum, they can still say the table is empty (the last run's set was cleared at its
    // commit): at 1,000,000 hosts that plan ran for over 18 minutes instead of seconds. (Without the
    // right to analyze the table, PostgreSQL warns and skips it.)
    if (options.hostIds) await this.pool.query('ANALYZE run_hosts');
  }

  async readState(connection: string): Promise<ConnectionState> {
    const { rows } = await this.pool.query<{ run_key: string; watermark: Date; host_count: number; last_full_at: Date | null }>(
      'SELECT run_key, watermark, host_count, last_full_at FROM connections WHERE connection = $1',
      [connection],
    );
    const row = rows[0];
    if (!row) return {};
    return { runKey: row.run_key, watermark: row.watermark.toISOString(), hostCount: row.host_count, lastFullAt: row.last_full_at?.toISOString() };
  }

  /**
   * Active hosts with a QID whose cached CVE list changed since the connection's last commit: an
   * incremental run asks for them again, so their findings follow the KnowledgeBase.
   */
  async hostsWithRemappedQids(connection: string): Promise<number[]> {
    const { rows } = await this.pool.query<{ host_id: string }>(
      `SELECT a.host_id FROM assets a
       WHERE a.connection = $1 AND a.status = 'active' AND a.qids && ARRAY(
         SELECT k.qid FROM knowledge_base k LEFT JOIN connections c ON c.connection = k.connection
         WHERE k.connection = $1 AND k.cves_changed_at > COALESCE(c.committed_db_at, '-infinity'))`,
      [connection],
    );
    return rows.map((r) => Number(r.host_id));
  }

  /** The hosts an incremental run's page asks for (recorded with its page list). */
  async readPageHostIds(run: RunRef, page: PageRange): Promise<number[]> {
    const { rows } = await this.pool.query<{ host_ids: string[] | null }>(
      'SELECT host_ids FROM run_pages WHERE run_key = $1 AND page_index = $2',
      [run.runKey, page.index],
    );
    const ids = rows[0]?.host_ids;
    if (!ids) {
      throw new StagedPageMissingError(
        `Page ${page.index + 1} (hosts ${page.idMin}–${page.idMax}) of run ${run.runKey} has no host list in the store: its run was abandoned or its staging cleared. Start a new run.`,
      );
    }
    return ids.map(Number);
  }

  /**
   * Of `hostIds`, those the connection does not hold as active assets (new, or back after a removal).
   * Compared in the database: at a million hosts, the active ones read into the worker cost it over
   * 100 MiB at once. Sent in slices, so the worker never writes the whole set out as one array literal
   * (≈ 50 MiB more at its peak at a million hosts).
   */
  async hostsNotActive(connection: string, hostIds: readonly number[]): Promise<number[]> {
    const notActive: number[] = [];
    for (let start = 0; start < hostIds.length; start += HOST_ID_SLICE) {
      const { rows } = await this.pool.query<{ host_id: string }>(
        `SELECT id AS host_id FROM unnest($2::bigint[]) AS id
          WHERE NOT EXISTS (SELECT 1 FROM assets a WHERE a.connection = $1 AND a.status = 'active' AND a.host_id = id)`,
        [connection, `{${hostIds.slice(start, start + HOST_ID_SLICE).join(',')}}`],
      );
      for (const row of rows) notActive.push(Number(row.host_id));
    }
    return notActive;
  }

  /** A staged part, read back through the schema it was staged by (see staged-record.ts); undefined when it is not staged. */
  async readStagedPart<Schema extends z.ZodType>(run: RunRef, page: PageRange, part: StagedPart, schema: Schema): Promise<z.output<Schema> | undefined> {
    const { rows } = await this.pool.query<{ body: unknown }>(
      'SELECT body FROM staged_fetches WHERE run_key = $1 AND page_index = $2 AND part = $3',
      [run.runKey, page.index, part],
    );
    return rows[0] === undefined ? undefined : readStaged(schema, rows[0].body, run, page, `part ${part}`);
  }

  /** Stages a part while its records are parsed (COPY as they come), with the parts `extra` gives at the end: see staged-pages.ts. */
  async stageStreamedPart(
    run: RunRef,
    page: PageRange,
    part: StagedPart,
    produce: (emit: (json: string) => void) => Promise<void>,
    extra?: () => readonly ExtraPart[],
  ): Promise<void> {
    await stageStreamedPart(this.pool, run, page, part, produce, extra);
  }

  /** How many records a staged part holds; undefined when it is not staged. */
  async stagedPartLength(run: RunRef, page: PageRange, part: StagedPart): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ n: number }>(
      'SELECT jsonb_array_length(body) AS n FROM staged_fetches WHERE run_key = $1 AND page_index = $2 AND part = $3',
      [run.runKey, page.index, part],
    );
    return rows[0]?.n;
  }

  async stagedDetectionTotals(run: RunRef, page: PageRange): Promise<{ hosts: number; detections: number } | undefined> {
    return stagedDetectionTotals(this.pool, run, page);
  }

  async stagedPageQids(run: RunRef, page: PageRange): Promise<string[] | undefined> {
    return stagedPageQids(this.pool, run, page);
  }

  /** Per staged page of these, the QIDs the connection's QID → CVE cache does not know (see staged-pages.ts). */
  async unknownQidsOfPages(run: RunRef, pages: readonly number[]): Promise<Array<{ page: number; qids: string[] }>> {
    return unknownQidsOfPages(this.pool, run, pages);
  }

  /** Every QID the run's fetched pages detected, wherever they were fetched. */
  async stagedQids(run: RunRef): Promise<string[]> {
    const { rows } = await this.pool.query<{ qid: string }>(
      `SELECT DISTINCT jsonb_array_elements_text(body) AS qid FROM staged_fetches WHERE run_key = $1 AND part = 'qids'`,
      [run.runKey],
    );
    return rows.map((r) => r.qid);
  }

  /**
   * Writes a page's mapped records for the run's commit, mapping the page's staged detections batch by
   * batch as it writes, never holding the page or its findings whole (see staged-pages.ts); writing the
   * same page again replaces them. `attempt` is the attempt of the step that writes: a page taken over by
   * a later attempt refuses an earlier one (see page-lease.ts). The page's rejected records (what its
   * answers held that could not be read) are set aside with it, replacing what an earlier attempt set
   * aside, under the same lease.
   */
  async uploadPage<Host>(run: RunRef, page: PageRange, mapping: StagedPageMapping<Host>, attempt = 1, rejected?: readonly RejectedRecordRow[]): Promise<void> {
    await uploadStagedPage(this.pool, run, page, mapping, attempt, rejected);
  }

  /**
   * Writes records already mapped as a page's, under the same lease and run checks as `uploadPage`. Runs
   * never use it: store tests and the commit benchmark do, to give the commit exactly the records they need.
   */
  async uploadMappedRecords(
    run: RunRef,
    page: PageRange,
    records: { assets: readonly Asset[]; findings: readonly Finding[]; qidsByHost?: ReadonlyMap<string, readonly string[]> },
    attempt = 1,
    rejected?: readonly RejectedRecordRow[],
  ): Promise<void> {
    const { assets, findings, qidsByHost } = records;
    await withLeasedPage(this.pool, run, page, attempt, rejected, async (client) => {
      await copyRows(client, PAGE_ASSETS, ASSET_COLUMNS, assets.map((a) => assetRow(run, page, a, qidsByHost?.get(a.qualysHostId) ?? [])));
      await copyRows(client, PAGE_FINDINGS, FINDING_COLUMNS, findings.map((f) => findingRow(run, page, f)));
    });
  }

  /** The share of a running run's records set aside as unreadable (undefined once it is no longer running). */
  async rejectedShare(run: RunRef): Promise<RejectedShare | undefined> {
    return rejectedShare(this.pool, run.runKey);
  }

  async readKnowledgeBase(connection: string, qids: readonly string[]): Promise<Map<string, KnowledgeBaseEntry>> {
    const { rows } = await this.pool.query<{
      qid: string;
      cves: string[];
      severity: number | null;
      title: string | null;
      last_service_modified: string | null;
      unknown: boolean;
    }>('SELECT qid, cves, severity, title, last_service_modified, unknown FROM knowledge_base WHERE connection = $1 AND qid = ANY($2)', [
      connection,
      qids,
    ]);
    return new Map(
      rows.map((r) => [
        r.qid,
        {
          qid: r.qid,
          cves: r.cves,
          severity: r.severity ?? undefined,
          title: r.title ?? undefined,
          lastServiceModified: r.last_service_modified ?? undefined,
          ...(r.unknown ? { unknown: true } : {}),
        },
      ]),
    );
  }

  /** Upserts cache entries: safe with any number of workers writing at once. */
  async saveKnowledgeBase(connection: string, entries: readonly KnowledgeBaseEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.pool.query(
      `INSERT INTO knowledge_base (connection, qid, cves, severity, title, last_service_modified, unknown)
       SELECT $1, e.qid, ARRAY(SELECT jsonb_array_elements_text(e.cves)), e.severity, e.title, e.modified, e.unknown
       FROM jsonb_to_recordset($2::jsonb) AS e(qid text, cves jsonb, severity int, title text, modified text, unknown boolean)
       ON CONFLICT (connection, qid) DO UPDATE SET cves = excluded.cves, severity = excluded.severity, title = excluded.title,
         last_service_modified = excluded.last_service_modified, unknown = excluded.unknown,
         cves_changed_at = CASE WHEN knowledge_base.cves IS DISTINCT FROM excluded.cves THEN now() ELSE knowledge_base.cves_changed_at END`,
      [
        connection,
        JSON.stringify(
          entries.map((e) => ({
            qid: e.qid,
            cves: e.cves,
            severity: e.severity ?? null,
            title: e.title ?? null,
            modified: e.lastServiceModified ?? null,
            unknown: e.unknown ?? false,
          })),
        ),
      ],
    );
  }

  async appendCalls(run: RunRef, entries: readonly CallLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.pool.query('INSERT INTO run_calls (run_key, entry) SELECT $1, e FROM jsonb_array_elements($2::jsonb) e', [
      run.runKey,
      JSON.stringify(entries),
    ]);
  }

  async readCalls(run: RunRef): Promise<CallLogEntry[]> {
    const { rows } = await this.pool.query<{ entry: CallLogEntry }>('SELECT entry FROM run_calls WHERE run_key = $1', [run.runKey]);
    return rows.map((r) => r.entry);
  }

  /**
   * Ends a run that will not commit (cancelled or failed): records why, with what it spent, and clears
   * its staging. A run that committed (or was abandoned for a later one) keeps its status.
   */
  async endRun(run: RunRef, outcome: 'cancelled' | 'failed', reason: string, report: object): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(
        `INSERT INTO runs (run_key, connection, workflow_id, started_at, status, ended_at, failure, report)
         VALUES ($1, $2, $3, $4, $5, now(), $6, $7)
         ON CONFLICT (run_key) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at,
           failure = excluded.failure, report = excluded.report
         WHERE runs.status = 'running'`,
        [run.runKey, run.connection, run.workflowId, run.startedAt, outcome, reason, JSON.stringify(report)],
      );
      const { rows } = await client.query<{ status: string }>('SELECT status FROM runs WHERE run_key = $1', [run.runKey]);
      if (rows[0]?.status !== 'committed') {
        await discardUncommittedAdditions(client, [run.runKey]);
        await clearStaging(client, [run.runKey]);
      }
    });
  }

  /** Makes the run the connection's current state, all or nothing (see commit.ts). */
  async commitRun(run: RunRef, report: Omit<RunReport, 'changes' | 'state'>, policy: CommitPolicy): Promise<CommitResult> {
    try {
      return await this.transaction((client) => commitRun(client, run, report, policy));
    } catch (err) {
      throw asDataDefect(err, 'commit');
    }
  }

  async readReport(runKey: string): Promise<RunReport | undefined> {
    const { rows } = await this.pool.query<{ report: RunReport | null }>('SELECT report FROM runs WHERE run_key = $1', [runKey]);
    return rows[0]?.report ?? undefined;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function* hostRows(runKey: string, hostIds: readonly number[]): Generator<[string, number]> {
  for (const id of hostIds) yield [runKey, id];
}

/** A PostgreSQL array literal of QIDs (digits only, so nothing needs quoting). */
