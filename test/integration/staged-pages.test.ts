import type { PageRange, RunRef } from '../../src/contracts/run';
import { pageMapping } from '../../src/activities/page-mapping';
import { mapAsset, mapFindings } from '../../src/model/map-qualys';
import { hostAssetSchema, qualysHostSchema, type HostDetections } from '../../src/qualys/schemas';
import { StagedPageMissingError, StoreDataDefectError } from '../../src/store/errors';
import { z } from 'zod';
import { useFreshStore } from '../harness/database';

// A page's detections staged as they were parsed (one JSON text per host) and mapped back batch by
// batch: the same rows as mapping the whole page at once, readable from the older one-value staging too.

const PAGE: PageRange = { index: 0, idMin: 1, idMax: 400, hosts: 250 };
const SEEN_AT = '2026-01-01T00:00:00.000Z';

/** A connection of its own per run: beginning a run abandons (and clears) its connection's others. */
function runRef(runKey: string): RunRef {
  return { connection: `staged-${runKey}`, runKey, workflowId: `wf-${runKey}`, startedAt: SEEN_AT };
}

/** The mapping's connection names the keys: every run maps as connection "staged" so their rows compare. */
const CONNECTION = 'staged';

/** 250 hosts (more than one read-back batch), with a backslash and a tab in a result to test COPY's escaping. */
const hosts: HostDetections[] = Array.from({ length: 250 }, (_, h) => ({
  id: String(h + 1),
  ip: `10.0.${Math.floor(h / 250)}.${h % 250}`,
  os: h % 7 === 0 ? 'Windows 10 企业版' : 'Ubuntu',
  detections: Array.from({ length: h % 5 }, (_, d) => ({
    qid: String(1000 + ((h + d) % 6)),
    type: 'Confirmed',
    ssl: d % 2 === 0,
    status: d === 3 ? 'Fixed' : 'Active',
    port: String(440 + d),
    firstFound: '2025-01-01T00:00:00Z',
    ...(d === 1 ? { results: 'C:\\Windows\\win32k.sys\tv10' } : {}),
  })),
}));
const cves = new Map([
  ['1000', { cves: ['CVE-2024-0001'] }],
  ['1001', { cves: ['CVE-2024-0001', 'CVE-2024-0002'] }],
  ['1002', { cves: [] }],
  ['1003', { cves: ['CVE-2024-0003'] }],
  ['1004', { cves: [], unknown: true }],
]);
const qids = [...new Set(hosts.flatMap((h) => h.detections.map((d) => d.qid)))];
/** The page's Host List answer: every host of the page is in the estate. */
const listed = hosts.map(({ detections: _d, ...h }) => h);

describe('pages staged as they are parsed, mapped back batch by batch', () => {
  const db = useFreshStore();

  async function stagedRows(run: RunRef): Promise<{ assets: unknown[]; findings: unknown[] }> {
    const assets = await db.pool.query('SELECT key, host_id, record FROM staged_assets WHERE run_key = $1 ORDER BY key', [run.runKey]);
    // A finding new to the store is written to findings when its page is applied, marked with its run.
    const findings = await db.pool.query(
      `SELECT key, asset_key, cve, status, record, record_hash FROM staged_findings WHERE run_key = $1
       UNION ALL SELECT key, asset_key, cve, status, record, record_hash FROM findings WHERE added_by_run = $1 ORDER BY key`,
      [run.runKey],
    );
    return { assets: assets.rows, findings: findings.rows };
  }

  it('writes exactly the rows the whole page mapped at once writes, and counts what it mapped', async () => {
    const streamed = runRef('streamed');
    await db.store.beginRun(streamed, [PAGE], 250);
    await db.store.stageStreamedPart(
      streamed,
      PAGE,
      'detections',
      async (emit) => {
        for (const host of hosts) {
          emit(JSON.stringify(host));
          // As a body arrives: the records come over several turns of the event loop.
          if (Number(host.id) % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      },
      () => [{ part: 'qids', body: qids }],
    );
    expect(await db.store.stagedDetectionTotals(streamed, PAGE)).toEqual({ hosts: 250, detections: hosts.reduce((n, h) => n + h.detections.length, 0) });
    expect((await db.store.stagedPageQids(streamed, PAGE))?.sort()).toEqual([...qids].sort());
    const mapping = pageMapping(CONNECTION, SEEN_AT, listed, [], cves);
    await db.store.uploadPage(streamed, PAGE, mapping);

    const whole = runRef('whole');
    await db.store.beginRun(whole, [PAGE], 250);
    const findings = hosts.flatMap((h) => mapFindings(CONNECTION, h.id, h.detections, cves, SEEN_AT).findings);
    const assets = hosts.map(({ detections: _d, ...h }) => mapAsset(CONNECTION, h, undefined, SEEN_AT));
    await db.store.uploadMappedRecords(whole, PAGE, { assets, findings });

    expect(await stagedRows(streamed)).toEqual(await stagedRows(whole));
    const counts = mapping.counts();
    expect(counts).toMatchObject({ assets: 250, findings: findings.length, detections: hosts.reduce((n, h) => n + h.detections.length, 0) });
    expect(counts.droppedNoCve).toBeGreaterThan(0);
    expect(counts.droppedUnknownQid).toBeGreaterThan(0);
  });

  it('reads a page staged the older way (one value, no QID part), deriving its QIDs', async () => {
    const older = runRef('older');
    await db.store.beginRun(older, [PAGE], 250);
    // As an earlier version staged it: one JSON value, written whole.
    await db.store.pool.query('INSERT INTO staged_fetches (run_key, page_index, part, body) VALUES ($1, $2, $3, $4)', [
      older.runKey,
      PAGE.index,
      'detections',
      JSON.stringify(hosts),
    ]);
    expect((await db.store.stagedPageQids(older, PAGE))?.sort()).toEqual([...qids].sort());
    await db.store.uploadPage(older, PAGE, pageMapping(CONNECTION, SEEN_AT, listed, [], cves));
    const whole = await stagedRows(runRef('whole'));
    expect(whole.findings.length).toBeGreaterThan(0);
    expect(await stagedRows(older)).toEqual(whole);
  });

  it('reads staged records back through the schema they were staged by, and refuses one that does not follow it', async () => {
    const run = runRef('odd');
    await db.store.beginRun(run, [PAGE], 250);
    // A detection without TYPE (required by Qualys' DTD, so never staged by the client) and a host ID that is not one.
    const odd = [{ ...hosts[1]!, detections: hosts[1]!.detections.map(({ type: _type, ...d }) => d) }];
    await db.store.stageStreamedPart(run, PAGE, 'detections', async (emit) => emit(JSON.stringify(odd[0])));
    const refused = db.store.uploadPage(run, PAGE, pageMapping(CONNECTION, SEEN_AT, listed, [], cves));
    await expect(refused).rejects.toBeInstanceOf(StoreDataDefectError);
    await expect(refused).rejects.toThrow(/staged Host List Detection host of page 1 .* does not follow its record schema at detections\.0\.type/);
    await db.store.stageStreamedPart(run, PAGE, 'hosts', async (emit) => emit('{"id":"host-7"}'));
    await expect(db.store.readStagedPart(run, PAGE, 'hosts', z.array(qualysHostSchema))).rejects.toThrow(/staged part hosts .* at 0\.id: expected a numeric ID/);
    // Nothing of the refused page was written.
    expect(await stagedRows(run)).toEqual({ assets: [], findings: [] });
  });

  it('stages nothing when the records stop coming with a failure (a body cut short), and keeps what an earlier attempt staged', async () => {
    const run = runRef('cut');
    await db.store.beginRun(run, [PAGE], 250);
    await db.store.stageStreamedPart(run, PAGE, 'hosts', async (emit) => emit('{"id":"7"}'));
    const cut = db.store.stageStreamedPart(run, PAGE, 'hosts', async (emit) => {
      emit('{"id":"8"}');
      await new Promise((resolve) => setImmediate(resolve));
      emit('{"id":"9"}');
      throw new Error('the body was cut short');
    });
    await expect(cut).rejects.toThrow('the body was cut short');
    expect(await db.store.readStagedPart(run, PAGE, 'hosts', z.array(qualysHostSchema))).toEqual([{ id: '7' }]);
    // An answer without records is staged too, as an empty list.
    await db.store.stageStreamedPart(run, PAGE, 'hostAssets', async () => undefined);
    expect(await db.store.readStagedPart(run, PAGE, 'hostAssets', z.array(hostAssetSchema))).toEqual([]);
    expect(await db.store.stagedPartLength(run, PAGE, 'hosts')).toBe(1);
  });

  it('stages nothing for a run that is no longer running, and says a missing page is missing', async () => {
    const ended = runRef('ended');
    await db.store.beginRun(ended, [PAGE], 250);
    await db.store.endRun(ended, 'cancelled', 'test', {});
    await expect(db.store.stageStreamedPart(ended, PAGE, 'detections', async (emit) => emit('{"id":"1","detections":[]}'))).rejects.toBeInstanceOf(
      StagedPageMissingError,
    );
    const fresh = runRef('fresh');
    await db.store.beginRun(fresh, [PAGE], 250);
    expect(await db.store.stagedPageQids(fresh, PAGE)).toBeUndefined();
    expect(await db.store.stagedDetectionTotals(fresh, PAGE)).toBeUndefined();
    await expect(db.store.uploadPage(fresh, PAGE, pageMapping(CONNECTION, SEEN_AT, listed, [], cves))).rejects.toBeInstanceOf(StagedPageMissingError);
  });
});
