import { ApplicationFailure } from '@temporalio/common';
import type { PageRange, RunRef } from '../../src/contracts/run';
import { translateFailures } from '../../src/activities/failures';
import { useFreshStore } from '../harness/database';
import { emptyRunReport } from '../harness/run-report';

// The store's refusals, each a typed, non-retryable failure: retrying cannot change them.

const POLICY = { allowShrink: false, maxShrinkShare: 0.5, removedAssetRetentionDays: 30 };

function runRef(runKey: string): RunRef {
  return { connection: 'refusals', runKey, workflowId: `wf-${runKey}`, startedAt: new Date().toISOString() };
}

const PAGES: PageRange[] = [
  { index: 0, idMin: 1, idMax: 10, hosts: 10 },
  { index: 1, idMin: 11, idMax: 20, hosts: 10 },
];

async function failureOf(step: () => Promise<unknown>): Promise<ApplicationFailure> {
  const err = await translateFailures(step).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('the store refuses what it must, with typed failures', () => {
  const db = useFreshStore();

  const report = (run: RunRef) => emptyRunReport(run, (r) => ({ ...r, totals: { ...r.totals, hosts: 20 } }));

  it('a commit with a page not uploaded: RunIncomplete, naming the page', async () => {
    const run = runRef('incomplete');
    await db.store.beginRun(run, PAGES, 20);
    await db.store.uploadMappedRecords(run, PAGES[0], { assets: [], findings: [] });
    const failure = await failureOf(() => db.store.commitRun(run, report(run), POLICY));
    expect(failure.type).toBe('RunIncomplete');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('1 page(s) of its page list are not uploaded: 2 (hosts 11–20)');
  });

  it('a run abandoned for a later one, or ended (cancelled, failed): nothing more is staged for it and it never commits', async () => {
    const abandoned = runRef('abandoned');
    await db.store.beginRun(abandoned, PAGES, 20);
    await db.store.stageStreamedPart(abandoned, PAGES[0], 'hosts', async () => undefined);
    await db.store.beginRun(runRef('later'), PAGES, 20); // the later run of the connection takes over
    for (const step of [
      () => db.store.stageStreamedPart(abandoned, PAGES[1], 'hosts', async () => undefined),
      () => db.store.uploadMappedRecords(abandoned, PAGES[1], { assets: [], findings: [] }),
    ]) {
      const failure = await failureOf(step);
      expect(failure.type).toBe('StagedPageMissing');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toMatch(/is no longer running/);
    }
    expect((await failureOf(() => db.store.commitRun(abandoned, report(abandoned), POLICY))).message).toMatch(/was abandoned when a later run/);

    const cancelled = runRef('cancelled');
    await db.store.beginRun(cancelled, PAGES.slice(0, 1), 20);
    await db.store.uploadMappedRecords(cancelled, PAGES[0], { assets: [], findings: [] });
    await db.store.endRun(cancelled, 'cancelled', 'cancelled', {});
    // Every page was uploaded before it ended, yet its staging is gone: committing it would empty the connection.
    const refused = await failureOf(() => db.store.commitRun(cancelled, report(cancelled), POLICY));
    expect(refused.type).toBe('RunIncomplete');
    expect(refused.message).toMatch(/has ended \(cancelled\)/);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM connections')).rows[0].n).toBe(0);
  });

  it('a stale attempt of a page\'s upload (the page taken over by a later attempt) writes nothing: StaleAttempt', async () => {
    const run = runRef('stale');
    await db.store.beginRun(run, PAGES.slice(0, 1), 10);
    await db.store.uploadMappedRecords(run, PAGES[0], { assets: [], findings: [] }, 2);
    const failure = await failureOf(() => db.store.uploadMappedRecords(run, PAGES[0], { assets: [], findings: [] }, 1));
    expect(failure.type).toBe('StaleAttempt');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('Attempt 1 of page 1 (hosts 1–10)');
    expect(failure.message).toContain('taken over by attempt 2');
  });

  it('a commit the store refuses as a defect (a malformed staged row) fails at once: StoreDataDefect, naming the cause', async () => {
    const run = runRef('defect');
    await db.store.beginRun(run, PAGES.slice(0, 1), 10, { hostIds: Array.from({ length: 10 }, (_, i) => i + 1) });
    await db.store.uploadMappedRecords(run, PAGES[0], { assets: [], findings: [] });
    // A staged finding whose status is no lifecycle status: the current state's CHECK refuses it.
    await db.pool.query(
      `INSERT INTO staged_findings (run_key, page_index, key, asset_key, cve, status, record, record_hash, change)
       VALUES ($1, 0, 'f1', 'a1', 'CVE-2024-0001', 'maybe', '{}', 'h', 'new')`,
      [run.runKey],
    );
    const failure = await failureOf(() => db.store.commitRun(run, report(run), { ...POLICY, allowShrink: true }));
    expect(failure.type).toBe('StoreDataDefect');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/refused by the store as a constraint violation \(SQLSTATE 23514: .*; table findings, constraint findings_\w+\)/);
    expect(failure.message).toContain('not an outage');
    expect((await db.pool.query('SELECT count(*)::int AS n FROM findings')).rows[0].n).toBe(0);
  });

  it("a statement the store's schema refuses (a worker of another version): StoreSchemaMismatch, retried, naming PostgreSQL's words and the fix", async () => {
    const run = runRef('schema');
    await db.store.beginRun(run, PAGES.slice(0, 1), 10);
    // What a worker older than the store's migrations meets: a column its statements name is gone.
    await db.pool.query('ALTER TABLE staged_fetches RENAME COLUMN body TO body_of_another_version');
    try {
      const failure = await failureOf(() => db.store.stageStreamedPart(run, PAGES[0], 'hosts', async () => undefined));
      expect(failure.type).toBe('StoreSchemaMismatch');
      expect(failure.nonRetryable).toBe(false);
      expect(failure.nextRetryDelay).toBe('30s');
      expect(failure.message).toMatch(/not fitting its schema or the connector's grants: column "body" .*does not exist \[SQLSTATE 42703\]/);
      expect(failure.message).toContain('Run every worker at one version (README, "Upgrading")');
    } finally {
      await db.pool.query('ALTER TABLE staged_fetches RENAME COLUMN body_of_another_version TO body');
    }
    // Once the worker and the store agree, the same step goes through.
    await db.store.stageStreamedPart(run, PAGES[0], 'hosts', async () => undefined);
    expect(await db.store.stagedPartLength(run, PAGES[0], 'hosts')).toBe(0);
  });
});
