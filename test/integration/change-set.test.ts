import type { PageRange, RunRef } from '../../src/contracts/run';
import { mapAsset, mapFindings } from '../../src/model/map-qualys';
import type { HostDetections } from '../../src/qualys/schemas';
import { useFreshStore } from '../harness/database';
import { emptyRunReport } from '../harness/run-report';

// Each page is staged as what it changes in the connection's current state; the commit applies that
// change set, and the state it reports is the state counted in the store.

const CONNECTION = 'changes';
const PAGE: PageRange = { index: 0, idMin: 1, idMax: 100, hosts: 100 };
const POLICY = { allowShrink: true, maxShrinkShare: 0.5, removedAssetRetentionDays: 30 };
const cves = new Map([
  ['1', { cves: ['CVE-2024-0001'] }],
  ['2', { cves: ['CVE-2024-0002'] }],
  ['3', { cves: ['CVE-2024-0003'] }],
]);

type Host = HostDetections;

function estate(change: (host: Host) => Host = (h) => h): Host[] {
  return Array.from({ length: 100 }, (_, i) =>
    change({
      id: String(i + 1),
      ip: `10.0.0.${i + 1}`,
      detections: ['1', '2', '3'].map((qid) => ({ qid, type: 'Confirmed', status: 'Active', ssl: false, firstFound: '2025-01-01T00:00:00Z' })),
    }),
  );
}

describe('the run\'s change set', () => {
  const db = useFreshStore();
  let runs = 0;

  /** One run of the connection over the given hosts: begun, its page applied, its change set counted, committed. */
  async function run(hosts: Host[], mode: 'full' | 'incremental' = 'full', idSet: readonly Host[] = hosts) {
    runs += 1;
    const ref: RunRef = { connection: CONNECTION, runKey: `run-${runs}`, workflowId: `wf-${runs}`, startedAt: new Date(Date.UTC(2026, 0, runs)).toISOString() };
    await db.store.beginRun(ref, [PAGE], idSet.length, { plan: { mode, reason: 'a test' }, hostIds: idSet.map((h) => Number(h.id)) });
    const assets = hosts.map(({ detections: _d, ...h }) => mapAsset(CONNECTION, h, undefined, ref.startedAt));
    const findings = hosts.flatMap((h) => mapFindings(CONNECTION, h.id, h.detections, cves, ref.startedAt).findings);
    await db.store.uploadMappedRecords(ref, PAGE, { assets, findings });
    const staged = await db.pool.query<{ what: string; n: number }>(
      `SELECT 'asset ' || change AS what, count(*)::int AS n FROM staged_assets WHERE run_key = $1 GROUP BY change
       UNION ALL SELECT 'finding ' || change, count(*)::int FROM staged_findings WHERE run_key = $1 GROUP BY change
       UNION ALL SELECT 'asset added', sum(cardinality(asset_keys))::int FROM staged_additions WHERE run_key = $1 HAVING sum(cardinality(asset_keys)) > 0
       UNION ALL SELECT 'finding new', sum(cardinality(keys))::int FROM staged_additions WHERE run_key = $1 HAVING sum(cardinality(keys)) > 0
       ORDER BY 1`,
      [ref.runKey],
    );
    const result = await db.store.commitRun(ref, emptyRunReport(ref), POLICY);
    const counted = await db.pool.query(
      `SELECT (SELECT count(*)::int FROM assets WHERE connection = $1 AND status = 'active') AS "assetsActive",
              (SELECT count(*)::int FROM assets WHERE connection = $1 AND status = 'removed') AS "assetsRemoved",
              (SELECT count(*)::int FROM findings WHERE connection = $1 AND status = 'open') AS "findingsOpen",
              (SELECT count(*)::int FROM findings WHERE connection = $1 AND status = 'fixed') AS "findingsFixed"`,
      [CONNECTION],
    );
    expect(result.state).toEqual(counted.rows[0]);
    return { staged: Object.fromEntries(staged.rows.map((r) => [r.what, r.n])), changes: result.changes };
  }

  it('stages only what changed, and the commit applies it', async () => {
    const first = await run(estate());
    expect(first.staged).toEqual({ 'asset added': 100, 'finding new': 300 });
    expect(first.changes).toMatchObject({ assetsAdded: 100, findingsOpened: 300 });

    // The same estate again: a full run changes nothing and stages nothing.
    expect((await run(estate())).staged).toEqual({});

    // Host 1 fixes QID 1, host 2 no longer reports QID 2, host 3 is gone, host 4's IP changed.
    const next = estate((h) => {
      if (h.id === '1') return { ...h, detections: h.detections.map((d) => (d.qid === '1' ? { ...d, status: 'Fixed' } : d)) };
      if (h.id === '2') return { ...h, detections: h.detections.filter((d) => d.qid !== '2') };
      if (h.id === '4') return { ...h, ip: '10.9.9.9' };
      return h;
    }).filter((h) => h.id !== '3');
    const changed = await run(next);
    expect(changed.staged).toEqual({ 'asset changed': 1, 'finding fixed': 1, 'finding gone': 1 });
    expect(changed.changes).toMatchObject({ assetsRemoved: 1, findingsFixed: 1, findingsNoLongerReported: 1, findingsAssetRemoved: 3 });

    // An incremental run asking about two unchanged hosts stages that it saw them, nothing more.
    const asked = next.filter((h) => h.id === '10' || h.id === '11');
    expect((await run(asked, 'incremental', next)).staged).toEqual({ 'asset seen': 2 });

    // Host 3 back with its findings; host 2 reports QID 2 again.
    const back = await run(estate());
    expect(back.staged).toEqual({ 'asset changed': 1, 'asset returned': 1, 'finding reopened': 5 });
    expect(back.changes).toMatchObject({ assetsReturned: 1, findingsReopened: 5 });
  });

  it('a new finding is written when its page is applied but is current only once its run commits; a page applied again, or a run that ends, takes it back', async () => {
    await run(estate());
    const visible = async (runKey: string) => {
      const { rows } = await db.pool.query<{ current: number; feed: number; added: number }>(
        `SELECT (SELECT count(*)::int FROM current_findings WHERE connection = $1 AND key LIKE '%CVE-2024-0009%') AS current,
                (SELECT count(*)::int FROM change_feed WHERE run_key = $2) AS feed,
                (SELECT count(*)::int FROM findings WHERE added_by_run = $2) AS added`,
        [CONNECTION, runKey],
      );
      return rows[0];
    };
    const withQid9 = (hosts: readonly string[]) => estate((h) => (hosts.includes(h.id) ? { ...h, detections: [...h.detections, { ...h.detections[0], qid: '9' }] } : h));
    const cves9 = new Map([...cves, ['9', { cves: ['CVE-2024-0009'] }]]);
    const apply = async (ref: RunRef, hosts: Host[], attempt: number) => {
      const assets = hosts.map(({ detections: _d, ...h }) => mapAsset(CONNECTION, h, undefined, ref.startedAt));
      const findings = hosts.flatMap((h) => mapFindings(CONNECTION, h.id, h.detections, cves9, ref.startedAt).findings);
      await db.store.uploadMappedRecords(ref, PAGE, { assets, findings }, attempt);
    };
    const begin = async (n: number) => {
      const ref: RunRef = { connection: CONNECTION, runKey: `added-${n}`, workflowId: `wf-added-${n}`, startedAt: new Date(Date.UTC(2026, 1, n)).toISOString() };
      await db.store.beginRun(ref, [PAGE], 100, { hostIds: estate().map((h) => Number(h.id)) });
      return ref;
    };

    // Applied, not committed: in findings, marked with its run; not in the current state or the feed.
    const ended = await begin(1);
    await apply(ended, withQid9(['5', '6']), 1);
    expect(await visible(ended.runKey)).toEqual({ current: 0, feed: 0, added: 2 });
    // The run ends without committing: what it added is gone.
    await db.store.endRun(ended, 'failed', 'a test', {});
    expect(await visible(ended.runKey)).toEqual({ current: 0, feed: 0, added: 0 });

    // A page applied again by a later attempt replaces what the earlier one added.
    const again = await begin(2);
    await apply(again, withQid9(['5', '6']), 1);
    await apply(again, withQid9(['7']), 2);
    expect(await visible(again.runKey)).toEqual({ current: 0, feed: 0, added: 1 });
    const result = await db.store.commitRun(again, emptyRunReport(again), POLICY);
    expect(result.changes.findingsOpened).toBe(1);
    // Committed: current, with one feed line for the new finding (and the run's own line).
    expect(await visible(again.runKey)).toEqual({ current: 1, feed: 2, added: 1 });
    const { rows } = await db.pool.query<{ feed: unknown; current: unknown }>(
      `SELECT c.record AS feed, f.record AS current FROM change_feed c JOIN current_findings f ON f.connection = c.connection AND f.key = c.key
       WHERE c.run_key = $1 AND c.entity = 'finding'`,
      [again.runKey],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].feed).toEqual(rows[0].current);
  });

  it('a new asset is written when its page is applied but is current only once its run commits; a page applied again, or a run that ends, takes it back', async () => {
    const connection = 'new-assets';
    const hosts = estate().slice(0, 10);
    const visible = async (runKey: string) => {
      const { rows } = await db.pool.query<{ current: number; feed: number; added: number }>(
        `SELECT (SELECT count(*)::int FROM current_assets WHERE connection = $1) AS current,
                (SELECT count(*)::int FROM change_feed WHERE run_key = $2 AND entity = 'asset') AS feed,
                (SELECT count(*)::int FROM assets WHERE added_by_run = $2) AS added`,
        [connection, runKey],
      );
      return rows[0];
    };
    const begin = async (n: number) => {
      const ref: RunRef = { connection, runKey: `assets-${n}`, workflowId: `wf-assets-${n}`, startedAt: new Date(Date.UTC(2026, 2, n)).toISOString() };
      await db.store.beginRun(ref, [PAGE], hosts.length, { hostIds: hosts.map((h) => Number(h.id)) });
      return ref;
    };
    const apply = async (ref: RunRef, some: Host[], attempt: number) => {
      const assets = some.map(({ detections: _d, ...h }) => mapAsset(connection, h, undefined, ref.startedAt));
      await db.store.uploadMappedRecords(ref, PAGE, { assets, findings: [] }, attempt);
    };

    // Applied, not committed: in assets, marked with its run; not in the current state or the feed. The
    // run ends without committing: what it added is gone.
    const ended = await begin(1);
    await apply(ended, hosts, 1);
    expect(await visible(ended.runKey)).toEqual({ current: 0, feed: 0, added: 10 });
    await db.store.endRun(ended, 'failed', 'a test', {});
    expect(await visible(ended.runKey)).toEqual({ current: 0, feed: 0, added: 0 });

    // A page applied again by a later attempt replaces what the earlier one added; the commit makes it current.
    const again = await begin(2);
    await apply(again, hosts.slice(0, 4), 1);
    await apply(again, hosts, 2);
    expect(await visible(again.runKey)).toEqual({ current: 0, feed: 0, added: 10 });
    const result = await db.store.commitRun(again, emptyRunReport(again), POLICY);
    expect(result.changes.assetsAdded).toBe(10);
    expect(result.state.assetsActive).toBe(10);
    expect(await visible(again.runKey)).toEqual({ current: 10, feed: 10, added: 10 });
    // Each added line of the feed is the asset as the current state shows it.
    const { rows } = await db.pool.query<{ feed: unknown; current: unknown }>(
      `SELECT c.record AS feed, a.record AS current FROM change_feed c JOIN current_assets a ON a.connection = c.connection AND a.key = c.key
       WHERE c.run_key = $1 AND c.entity = 'asset' AND c.change = 'added'`,
      [again.runKey],
    );
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(row.feed).toEqual(row.current);
  });
});

