import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PageRange, RunRef } from '../../src/contracts/run';
import type { RejectedRecord } from '../../src/qualys/parse-document';
import { hostDetectionRecords } from '../../src/qualys/parse-host-detection';
import { XmlBodyReader } from '../../src/qualys/xml-body-reader';
import { exportCurrentState } from '../../src/store/export';
import { countRejectedRecords, readRejectedRecords, replaceRejectedRecords, type ExportedRejectedRecord } from '../../src/store/rejected-records';
import { useFreshStore } from '../harness/database';
import { readJsonLines } from '../harness/sync-run';
import { emptyRunReport } from '../harness/run-report';

// Records Qualys sent that could not be read, set aside in `rejected_records` as the reader hands them
// over: per run and page (a retried page replaces its own), counted, and exported with the run's state.

const POLICY = { allowShrink: false, maxShrinkShare: 0.5, removedAssetRetentionDays: 30 };
const PAGES: PageRange[] = [{ index: 0, idMin: 1, idMax: 10, hosts: 0 }];

function runRef(runKey: string): RunRef {
  return { connection: 'rejects', runKey, workflowId: `wf-${runKey}`, startedAt: new Date().toISOString() };
}

/** The records a real reader rejects from a page with two unreadable hosts among good ones. */
function rejectedFromPage(): RejectedRecord[] {
  const rejected: RejectedRecord[] = [];
  const reader = new XmlBodyReader({ endpoint: 'hostDetection', httpStatus: 200 }, { reader: hostDetectionRecords, take: () => undefined, reject: (r) => rejected.push(r) });
  reader.write(
    '<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><HOST_LIST>' +
      '<HOST><ID>1</ID></HOST>' +
      '<HOST><ID>2</ID><DETECTION_LIST><DETECTION><QID>q</QID><TYPE>Info</TYPE><RESULTS>a\u0000b</RESULTS></DETECTION></DETECTION_LIST></HOST>' +
      `<HOST><DNS>${'x'.repeat(70_000)}</DNS></HOST>` +
      '</HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>',
  );
  reader.end();
  return rejected;
}

describe('rejected records in the store', () => {
  const db = useFreshStore();

  it('are set aside per page (a retried page replaces its own), counted and exported with the run that committed', async () => {
    const run = runRef('one');
    await db.store.beginRun(run, PAGES, 0);
    const rows = rejectedFromPage().map((record) => ({ api: 'hostDetection', ...record }));
    expect(rows).toHaveLength(2);
    await replaceRejectedRecords(db.pool, run, 0, rows);
    await replaceRejectedRecords(db.pool, run, 0, rows); // the page's retry
    expect(await countRejectedRecords(db.pool, run.runKey)).toBe(2);

    const stored = await readRejectedRecords(db.pool, run.runKey);
    expect(stored.map((r) => [r.page, r.api, r.path])).toEqual([
      [1, 'hostDetection', 'HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE.HOST_LIST.HOST[1] (HOST ID 2)'],
      [1, 'hostDetection', 'HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE.HOST_LIST.HOST[2]'],
    ]);
    // The NUL was replaced at the reader: PostgreSQL took the XML as it is.
    expect(stored[0]?.xml).toContain('<RESULTS>a\ufffdb</RESULTS>');
    expect(stored[1]?.xml).toHaveLength(64 * 1024);
    expect(stored[0]?.reason).toContain('expected a numeric ID, got "q"');

    await db.store.uploadMappedRecords(run, PAGES[0] as PageRange, { assets: [], findings: [] });
    await db.store.commitRun(
      run,
      emptyRunReport(run, (r) => ({ ...r, apiCalls: { ...r.apiCalls, rejectedRecords: 2 } })),
      POLICY,
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'rejects-'));
    const counts = await exportCurrentState(db.pool, run.connection, dir);
    expect(counts.rejected_records).toBe(2);
    const exported = readJsonLines<ExportedRejectedRecord>(path.join(dir, 'rejected_records.jsonl'));
    expect(exported).toEqual(stored);
    expect(exported[0]?.run).toBe(run.runKey);
  });

  it('are written with the page\'s upload, under its lease: a stale attempt sets aside nothing, a later one replaces its own', async () => {
    const run = runRef('leased');
    const page = PAGES[0] as PageRange;
    await db.store.beginRun(run, PAGES, 0);
    const rows = rejectedFromPage().map((record) => ({ api: 'hostDetection', ...record }));
    expect(rows.map((r) => r.hostId)).toEqual(['2', undefined]);

    await db.store.uploadMappedRecords(run, page, { assets: [], findings: [] }, 2, rows);
    await expect(db.store.uploadMappedRecords(run, page, { assets: [], findings: [] }, 1, [])).rejects.toMatchObject({ name: 'StaleAttemptError' });
    const kept = await readRejectedRecords(db.pool, run.runKey);
    expect(kept.map((r) => [r.path, r.hostId])).toEqual([
      ['HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE.HOST_LIST.HOST[1] (HOST ID 2)', '2'],
      ['HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE.HOST_LIST.HOST[2]', undefined],
    ]);

    await db.store.uploadMappedRecords(run, page, { assets: [], findings: [] }, 3, rows.slice(0, 1));
    expect(await countRejectedRecords(db.pool, run.runKey)).toBe(1);
  });
});
