import type { Asset, Finding } from '../../src/model/exposure';
import type { ChangeLine } from '../../src/store/export-changes';

/**
 * A consumer of the change feed, as the README describes one: it starts from nothing (or a current-state
 * export) and applies the feed's lines in order, knowing no more than the lines say.
 */
export class ChangeFeedConsumer {
  readonly assets = new Map<string, Asset>();
  readonly findings = new Map<string, { record: Finding; followsAsset: boolean }>();
  /** The last run applied: the next `--since`. */
  lastRunKey?: string;

  apply(lines: readonly ChangeLine[]): void {
    for (const line of lines) {
      if (line.entity === 'asset') this.applyAsset(line);
      else if (line.entity === 'finding') this.applyFinding(line);
      else this.endRun(line);
    }
  }

  private applyAsset(line: ChangeLine): void {
    if (line.change === 'deleted') {
      this.assets.delete(line.key);
      return;
    }
    this.assets.set(line.key, line.record as Asset);
    // A removed asset is no longer asked about: its findings keep the lastSeenAt they have.
    if (line.change === 'removed') for (const f of this.findings.values()) if (f.record.assetKey === line.key) f.followsAsset = false;
  }

  private applyFinding(line: ChangeLine): void {
    if (line.change === 'deleted') this.findings.delete(line.key);
    else this.findings.set(line.key, { record: line.record as Finding, followsAsset: line.followsAsset === true });
  }

  /** The run's line: a full run saw every active asset at its start; findings Qualys reports move with their asset. */
  private endRun(line: ChangeLine): void {
    const run = line.record as { mode: 'full' | 'incremental'; startedAt: string };
    if (run.mode === 'full') {
      for (const [key, asset] of this.assets) if (asset.status === 'active') this.assets.set(key, { ...asset, lastSeenAt: run.startedAt });
    }
    for (const f of this.findings.values()) {
      const asset = this.assets.get(f.record.assetKey);
      if (f.followsAsset && asset) f.record = { ...f.record, lastSeenAt: asset.lastSeenAt };
    }
    this.lastRunKey = line.runKey;
  }

  /** The state as `npm run export` writes it: in key order. */
  state(): { assets: Asset[]; findings: Finding[] } {
    const byKey = <T extends { key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    return { assets: [...this.assets.values()].sort(byKey), findings: [...this.findings.values()].map((f) => f.record).sort(byKey) };
  }
}
