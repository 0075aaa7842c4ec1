import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PageRange, RunRef } from '../../src/contracts/run';
import type { Asset, Finding } from '../../src/model/exposure';
import { mapAsset, mapFindings } from '../../src/model/map-qualys';
import type { Detection, HostDetections } from '../../src/qualys/schemas';
import { readCurrent } from '../../src/store/export';
import { exportChanges, type ChangeLine } from '../../src/store/export-changes';
import { ChangeFeedConsumer } from '../harness/change-feed-consumer';
import { useFreshStore } from '../harness/database';
import { readJsonLines } from '../harness/sync-run';
import { emptyRunReport } from '../harness/run-report';

// Every kind of change the feed carries, on a hand-made estate committed through the real store (the
// simulator never drops a detection or changes only its evidence): after each commit, a consumer that
// applied the feed from nothing holds exactly the current state.

const CONNECTION = 'kinds';
const PAGE: PageRange = { index: 0, idMin: 1, idMax: 20, hosts: 20 };
const cves = new Map([
  ['1', { cves: ['CVE-2024-0001'] }],
  ['2', { cves: ['CVE-2024-0002'] }],
  ['3', { cves: ['CVE-2024-0003'] }],
]);

type Host = HostDetections;

function estate(change: (host: Host) => Host | undefined = (h) => h): Host[] {
  return Array.from({ length: 20 }, (_, i) =>
    change({
      id: String(i + 1),
      ip: `10.0.0.${i + 1}`,
      detections: ['1', '2', '3'].map((qid) => ({ qid, type: 'Confirmed', status: 'Active', ssl: false, firstFound: '2025-01-01T00:00:00Z', lastFound: '2025-06-01T00:00:00Z' })),
    }),
  ).filter((h): h is Host => h !== undefined);
}

const detection = (h: Host, qid: string, change: Partial<Detection> | undefined): Host => ({
  ...h,
  detections: change === undefined ? h.detections.filter((d) => d.qid !== qid) : h.detections.map((d) => (d.qid === qid ? { ...d, ...change } : d)),
});


const byKey = <T extends { key: string }>(items: T[]): T[] => [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

describe('the change feed carries every kind of change', () => {
  const db = useFreshStore();
  const consumer = new ChangeFeedConsumer();
  let runs = 0;

  /** One committed run over `hosts` (its host ID set `idSet`), then the consumer reads the feed since its last run. */
  async function run(hosts: Host[], options: { mode?: 'full' | 'incremental'; idSet?: readonly Host[]; retentionDays?: number } = {}): Promise<string[]> {
    runs += 1;
    const idSet = options.idSet ?? hosts;
    const ref: RunRef = { connection: CONNECTION, runKey: `run-${runs}`, workflowId: `wf-${runs}`, startedAt: new Date(Date.UTC(2026, 0, runs)).toISOString() };
    await db.store.beginRun(ref, [PAGE], idSet.length, { plan: { mode: options.mode ?? 'full', reason: 'a test' }, hostIds: idSet.map((h) => Number(h.id)) });
    const assets = hosts.map(({ detections: _d, ...h }) => mapAsset(CONNECTION, h, undefined, ref.startedAt));
    const findings = hosts.flatMap((h) => mapFindings(CONNECTION, h.id, h.detections, cves, ref.startedAt).findings);
    await db.store.uploadMappedRecords(ref, PAGE, { assets, findings });
    await db.store.commitRun(ref, emptyRunReport(ref), { allowShrink: true, maxShrinkShare: 0.5, removedAssetRetentionDays: options.retentionDays ?? 30 });

    const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-kinds-'));
    const written = await exportChanges(db.pool, CONNECTION, consumer.lastRunKey ? { runKey: consumer.lastRunKey } : undefined, dir);
    const lines = readJsonLines<ChangeLine>(path.join(dir, written.file));
    consumer.apply(lines);
    expect(consumer.lastRunKey).toBe(ref.runKey);
    expect(consumer.state()).toEqual({
      assets: byKey(await readCurrent<Asset>(db.pool, CONNECTION, 'assets')),
      findings: byKey(await readCurrent<Finding>(db.pool, CONNECTION, 'findings')),
    });
    return lines.filter((l) => l.entity !== 'run').map((l) => `${l.entity} ${l.key.replace(`qualys:${CONNECTION}:host:`, '')} ${l.change}`).sort();
  }

  it('added, opened; fixed, no longer reported, updated, changed, removed, closed with the asset; returned, reopened; seen; deleted', async () => {
    expect(await run(estate())).toHaveLength(20 + 60);

    // Host 1 fixes QID 1, host 2 no longer reports QID 2, host 3 is gone, host 4's IP changed, host 5's
    // QID 3 was found again later (same status, new evidence); hosts 6 and 8 fix QID 1.
    const second = estate((h) => {
      if (h.id === '1' || h.id === '6' || h.id === '8') return detection(h, '1', { status: 'Fixed' });
      if (h.id === '2') return detection(h, '2', undefined);
      if (h.id === '3') return undefined;
      if (h.id === '4') return { ...h, ip: '10.9.9.9' };
      if (h.id === '5') return detection(h, '3', { lastFound: '2025-12-01T00:00:00Z' });
      return h;
    });
    expect(await run(second)).toEqual([
      'asset 3 removed',
      'asset 4 changed',
      'finding 1:cve:CVE-2024-0001 fixed',
      'finding 2:cve:CVE-2024-0002 no-longer-reported',
      'finding 3:cve:CVE-2024-0001 closed-with-asset',
      'finding 3:cve:CVE-2024-0002 closed-with-asset',
      'finding 3:cve:CVE-2024-0003 closed-with-asset',
      'finding 5:cve:CVE-2024-0003 updated',
      'finding 6:cve:CVE-2024-0001 fixed',
      'finding 8:cve:CVE-2024-0001 fixed',
    ]);

    // Host 3 is back with QID 1 only; host 2 reports QID 2 again; host 1's QID 1 is active again; host 6
    // no longer reports its fixed QID 1 (its lastSeenAt stops following the host's); host 8 is gone (its
    // fixed finding keeps its lastSeenAt too, with no visible change).
    const third = [...second.filter((h) => h.id !== '3' && h.id !== '8'), { ...estate()[2]!, detections: estate()[2]!.detections.filter((d) => d.qid === '1') }]
      .map((h) => (h.id === '2' ? estate()[1]! : h.id === '1' ? detection(h, '1', { status: 'Active' }) : h.id === '6' ? detection(h, '1', undefined) : h))
      .sort((a, b) => Number(a.id) - Number(b.id));
    expect(await run(third)).toEqual([
      'asset 3 returned',
      'asset 8 removed',
      'finding 1:cve:CVE-2024-0001 reopened',
      'finding 2:cve:CVE-2024-0002 reopened',
      'finding 3:cve:CVE-2024-0001 reopened',
      'finding 6:cve:CVE-2024-0001 no-longer-reported',
      'finding 8:cve:CVE-2024-0002 closed-with-asset',
      'finding 8:cve:CVE-2024-0003 closed-with-asset',
    ]);

    // An incremental run asks about two unchanged hosts: seen (their lastSeenAt, and their findings', moved).
    const asked = third.filter((h) => h.id === '10' || h.id === '11');
    expect(await run(asked, { mode: 'incremental', idSet: third })).toEqual(['asset 10 seen', 'asset 11 seen']);

    // Host 8 is back without its fixed QID 1, whose finding stays as it was.
    const back = [...third, detection(second.find((h) => h.id === '8')!, '1', undefined)].sort((a, b) => Number(a.id) - Number(b.id));
    expect(await run(back)).toEqual(['asset 8 returned', 'finding 8:cve:CVE-2024-0002 reopened', 'finding 8:cve:CVE-2024-0003 reopened']);

    // A full run with nothing changed: no record line, every lastSeenAt moved by the run's line alone.
    expect(await run(back)).toEqual([]);

    // Host 7 is gone; with no retention, it is deleted with its findings by the next run.
    const fourth = back.filter((h) => h.id !== '7');
    expect(await run(fourth)).toEqual(['asset 7 removed', ...['1', '2', '3'].map((q) => `finding 7:cve:CVE-2024-000${q} closed-with-asset`)]);
    expect(await run(fourth, { retentionDays: 0 })).toEqual(['asset 7 deleted', ...['1', '2', '3'].map((q) => `finding 7:cve:CVE-2024-000${q} deleted`)]);
  });
});
