import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import type { OcsfDeviceInventoryInfo, OcsfVulnerabilityFinding } from '../../src/model/ocsf';
import { changeActivity } from '../../src/model/ocsf-change';
import { ChangeFeedRangeError } from '../../src/store/errors';
import { exportChanges, type ChangeLine, type ChangesSince } from '../../src/store/export-changes';
import { ChangeFeedConsumer } from '../harness/change-feed-consumer';
import { projectCommand } from '../harness/cli';
import { freshDatabase } from '../harness/database';
import { ocsfErrors } from '../harness/ocsf-schema';
import { exportedState, readJsonLines, runSync, type SyncRun } from '../harness/sync-run';
import { useTestEnvironment } from '../harness/test-environment';

async function feed(databaseUrl: string, connection: string, since: ChangesSince, format: 'jsonl' | 'ocsf' = 'jsonl') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-changes-'));
  const pool = new Pool({ connectionString: databaseUrl });
  try {
    const written = await exportChanges(pool, connection, since, dir, format);
    return { ...written, path: path.join(dir, written.file) };
  } finally {
    await pool.end();
  }
}

const byKey = <T extends { key: string }>(items: T[]): T[] => [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

describe('the change feed: npm run export -- --changes (real PostgreSQL, real dev server, the simulator)', () => {
  const testEnvironment = useTestEnvironment();

  it('a consumer that applies the feed after every run, from nothing, holds exactly the current state: full run, advance, incremental run, advance + full run, and one that deletes removed assets', async () => {
    const env = testEnvironment.env();
    const connection = 'feed';
    const sim = await testEnvironment.simulator({ hosts: 200, seed: 31 });
    const databaseUrl = await freshDatabase();
    const consumer = new ChangeFeedConsumer();
    const seen = new Map<string, Set<string>>(); // entity → change kinds the feed carried
    const runs: SyncRun[] = [];

    const runAndConsume = async (input: Record<string, unknown>): Promise<{ run: SyncRun; lines: ChangeLine[] }> => {
      const run = await runSync(env, sim, { connection, databaseUrl, input: { pageSize: 60, ...input } });
      runs.push(run);
      const since = consumer.lastRunKey ? { runKey: consumer.lastRunKey } : undefined;
      const written = await feed(databaseUrl, connection, since);
      const lines = readJsonLines<ChangeLine>(written.path);
      expect(written.lines).toBe(lines.length);
      // Only this run's changes, its own line last: the consumer's next cursor.
      expect(new Set(lines.map((l) => l.runKey))).toEqual(new Set([run.result.runKey]));
      expect(lines.at(-1)).toMatchObject({ entity: 'run', key: run.result.runKey, change: 'committed', record: { mode: run.result.mode } });
      expect(written.lastRunKey).toBe(run.result.runKey);
      for (const l of lines) seen.set(l.entity, (seen.get(l.entity) ?? new Set()).add(l.change));
      consumer.apply(lines);
      const exported = await exportedState(databaseUrl, connection);
      expect(consumer.state()).toEqual({ assets: byKey(exported.assets), findings: byKey(exported.findings) });
      return { run, lines };
    };

    const first = await runAndConsume({});
    expect(first.run.result.mode).toBe('full');
    expect(first.lines.filter((l) => l.entity === 'asset')).toHaveLength(first.run.assets.length);

    sim.advance({ addedShare: 0.03, removedShare: 0.04, changedShare: 0.5, qidsGainingCve: 6 });
    const incremental = await runAndConsume({});
    expect(incremental.run.result.mode).toBe('incremental');
    // The commit costs what changed, and so does the feed: far fewer lines than records.
    expect(incremental.lines.length).toBeLessThan((incremental.run.assets.length + incremental.run.findings.length) / 2);

    sim.advance({ addedShare: 0.03, removedShare: 0.04, changedShare: 0.5, qidsGainingCve: 6 });
    await runAndConsume({ mode: 'full' });

    // OCSF: every asset and finding change of the incremental and the full run as an event that validates
    // against the official schema, the finding's activity following its change.
    const ocsf = await feed(databaseUrl, connection, { runKey: runs[0]!.result.runKey }, 'ocsf');
    const events = readJsonLines<OcsfDeviceInventoryInfo | OcsfVulnerabilityFinding>(ocsf.path);
    const changed = readJsonLines<ChangeLine>((await feed(databaseUrl, connection, { runKey: runs[0]!.result.runKey })).path).filter((l) => l.entity !== 'run');
    expect(changed.length).toBeGreaterThan(0);
    expect(events).toHaveLength(changed.length);
    const invalid = events
      .map((e) => ({ uid: e.class_uid === 2002 ? e.finding_info.uid : e.device.uid, errors: ocsfErrors(e.class_uid === 2002 ? 'vulnerability_finding' : 'inventory_info', e) }))
      .filter((r) => r.errors.length > 0);
    expect(invalid.slice(0, 3)).toEqual([]);
    events.forEach((event, i) => {
      const line = changed[i]!;
      expect(event.unmapped.qualys).toMatchObject({ change: line.change, runKey: line.runKey });
      if (line.entity === 'finding') expect(event).toMatchObject({ class_uid: 2002, activity_id: changeActivity(line.change).id, finding_info: { uid: line.key } });
      else expect(event).toMatchObject({ class_uid: 5001, device: { uid: line.key } });
    });
    expect(new Set(events.map((e) => e.activity_name))).toEqual(new Set(['Create', 'Update', 'Close', 'Collect']));

    // No retention: the assets removed by the runs before are deleted with their findings, and the feed
    // keeps only this run and the one before it.
    sim.advance();
    const last = await runAndConsume({ mode: 'full', removedAssetRetentionDays: 0 });
    expect(last.lines.some((l) => l.entity === 'asset' && l.change === 'deleted')).toBe(true);

    expect([...(seen.get('asset') ?? [])].sort()).toEqual(['added', 'changed', 'deleted', 'removed', 'seen']);
    // (The simulator's advance fixes, finds and reopens detections; it never drops one or changes only its evidence.)
    expect([...(seen.get('finding') ?? [])].sort()).toEqual(['closed-with-asset', 'deleted', 'fixed', 'opened', 'reopened']);

    // Retention: the first runs' changes are gone; asking for them is refused, not answered with a gap.
    await expect(feed(databaseUrl, connection, { runKey: runs[0]!.result.runKey })).rejects.toThrow(ChangeFeedRangeError);
    await expect(feed(databaseUrl, connection, undefined)).rejects.toThrow(/no longer holds the changes of run/);
    await expect(feed(databaseUrl, connection, { runKey: 'no-such-run' })).rejects.toThrow(/has no such run/);
    const kept = await feed(databaseUrl, connection, { runKey: runs[2]!.result.runKey });
    expect(kept.lastRunKey).toBe(runs[3]!.result.runKey);
    // By time: the runs committed then or later.
    const byTime = await feed(databaseUrl, connection, { time: new Date(runs[3]!.report.committedAt) });
    expect(readJsonLines<ChangeLine>(byTime.path)).toEqual(last.lines);

    // The command, as a user types it: the next --since is printed; a bad time is refused clearly.
    const out = mkdtempSync(path.join(os.tmpdir(), 'qualys-changes-cli-'));
    const cli = await projectCommand('export', ['--connection', connection, '--out', out, '--changes', '--since', runs[2]!.result.runKey], { DATABASE_URL: databaseUrl });
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`Wrote ${last.lines.length} changes of connection "feed"`);
    expect(cli.stdout).toContain(`--since ${runs[3]!.result.runKey}`);
    const refused = await projectCommand('export', ['--connection', connection, '--out', out, '--changes', '--since', '2026-13-45'], { DATABASE_URL: databaseUrl });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not an ISO 8601 time with its zone');
  }, 420_000);
});
