import type { PoolClient } from 'pg';
import type { PageRange, RunRef } from '../contracts/run';
import { StagedPageMissingError, StaleAttemptError } from './errors';

/**
 * A page's staging belongs to one attempt of the step that writes it. Temporal hands a page to a new
 * attempt when the last one stopped heartbeating — but a stopped attempt (a GC pause, a slow disk, a
 * process stopped and resumed) may still be inside its transaction, and resume later. So:
 *
 *  - before its transaction an attempt takes the page's lease (`run_pages.lease`, the attempt number);
 *    an attempt below the lease is stale and writes nothing;
 *  - taking the lease ends the transaction of any earlier attempt still holding the page (its backend is
 *    terminated: Temporal has already given up on it), so the new attempt never waits on a stopped one;
 *  - inside its transaction an attempt holds the page's lock, and it commits only if the lease is still
 *    its own (`confirmPageLease`, in the same transaction as its last write).
 *
 * Attempt numbers restart when a step is scheduled anew; a page's staging step is scheduled once per run.
 */

/** Advisory lock class of pages' staging; the second key is the run and page, hashed. */
const PAGE_LOCK_CLASS = 727_018;
/** The page's advisory lock key from ($1 run key, $2 page index). */
const PAGE_KEY = `(hashtext($1 || ':' || $2::text) & 2147483647)`;

/** Takes the page's lease for `attempt` (outside any transaction), ending an earlier attempt's hold on the page. */
export async function takePageLease(client: PoolClient, run: RunRef, page: PageRange, attempt: number): Promise<void> {
  const { rows } = await client.query<{ lease: number | null }>('SELECT lease FROM run_pages WHERE run_key = $1 AND page_index = $2', [
    run.runKey,
    page.index,
  ]);
  const row = rows[0];
  if (!row) throw pageNotListed(run, page);
  if (row.lease !== null && row.lease > attempt) throw staleAttempt(run, page, attempt, row.lease);
  try {
    await client.query(
      `SELECT pg_terminate_backend(l.pid) FROM pg_locks l
       WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND l.classid = $3::oid AND l.objid = ${PAGE_KEY}::oid AND l.objsubid = 2`,
      [run.runKey, page.index, PAGE_LOCK_CLASS],
    );
  } catch (err) {
    // Without the right to end another session (a different database role), the new attempt waits for
    // the page's lock instead; the lease still refuses the stale attempt's writes.
    if ((err as { code?: string }).code !== '42501') throw err;
  }
  const claimed = await client.query('UPDATE run_pages SET lease = $3 WHERE run_key = $1 AND page_index = $2 AND COALESCE(lease, 0) <= $3', [
    run.runKey,
    page.index,
    attempt,
  ]);
  if (claimed.rowCount === 0) throw staleAttempt(run, page, attempt);
}

/** Holds the page's lock for the rest of the caller's transaction. */
export async function lockPage(client: PoolClient, run: RunRef, page: PageRange): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock($3, ${PAGE_KEY})`, [run.runKey, page.index, PAGE_LOCK_CLASS]);
}

/** Marks the page uploaded, in the caller's transaction, if `attempt` still holds its lease; else refuses. */
export async function confirmPageLease(client: PoolClient, run: RunRef, page: PageRange, attempt: number): Promise<void> {
  const confirmed = await client.query(
    'UPDATE run_pages SET uploaded_at = now() WHERE run_key = $1 AND page_index = $2 AND COALESCE(lease, 0) <= $3',
    [run.runKey, page.index, attempt],
  );
  if (confirmed.rowCount === 0) throw staleAttempt(run, page, attempt);
}

function staleAttempt(run: RunRef, page: PageRange, attempt: number, lease?: number): StaleAttemptError {
  return new StaleAttemptError(
    `Attempt ${attempt} of page ${page.index + 1} (hosts ${page.idMin}–${page.idMax}) of run ${run.runKey} was taken over by ` +
      `${lease === undefined ? 'a later attempt' : `attempt ${lease}`}: it writes nothing, so the page is staged once.`,
  );
}

function pageNotListed(run: RunRef, page: PageRange): StagedPageMissingError {
  return new StagedPageMissingError(
    `Page ${page.index + 1} (hosts ${page.idMin}–${page.idMax}) is not in the page list of run ${run.runKey}: its run was abandoned or its staging cleared. Start a new run.`,
  );
}
