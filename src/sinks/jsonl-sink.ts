import { readdir, readlink, rm, symlink, rename, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CommitResult, RunRef } from '../activities/contracts';
import type { Asset, Finding } from '../model/exposure';
import type { ExposureSink, KnowledgeBaseEntry, RunReport, SinkState } from './sink';
import { readJsonIfExists, readJsonLinesIfExists, toJsonLines, writeFileAtomic, writeJsonAtomic } from './atomic-file';

/**
 * The embedded default sink: JSON Lines files under a data directory.
 *
 *   <root>/<connection>/current -> generations/<runKey>   (symlink, swapped atomically at commit)
 *   <root>/<connection>/generations/<runKey>/assets.jsonl, findings.jsonl
 *   <root>/<connection>/knowledge-base.jsonl             (QID → CVE cache)
 *   <root>/<connection>/reports/<runKey>.json            (one report per run)
 *   <root>/<connection>/state.json                       (watermark, last run)
 *   <root>/<connection>/pending/<runKey>/<page>.json     (pages of a run not yet committed)
 */
export class JsonlSink implements ExposureSink {
  // One writer at a time per file within this process; renames keep readers safe across processes.
  private readonly knowledgeBaseLock = new Map<string, Promise<void>>();

  constructor(readonly root: string) {}

  connectionDir(connection: string): string {
    return path.join(this.root, connection);
  }

  async writePage(run: RunRef, pageKey: string, records: { assets: Asset[]; findings: Finding[] }): Promise<void> {
    await writeJsonAtomic(path.join(this.pendingDir(run), `${pageKey}.json`), records);
  }

  async readState(connection: string): Promise<SinkState> {
    return (await readJsonIfExists<SinkState>(path.join(this.connectionDir(connection), 'state.json'))) ?? {};
  }

  async readKnowledgeBase(connection: string, qids: readonly string[]): Promise<Map<string, KnowledgeBaseEntry>> {
    const all = await readJsonLinesIfExists<KnowledgeBaseEntry>(this.knowledgeBaseFile(connection));
    const wanted = new Set(qids);
    return new Map(all.filter((e) => wanted.has(e.qid)).map((e) => [e.qid, e]));
  }

  async saveKnowledgeBase(connection: string, entries: readonly KnowledgeBaseEntry[]): Promise<void> {
    const previous = this.knowledgeBaseLock.get(connection) ?? Promise.resolve();
    const next = previous.then(async () => {
      const file = this.knowledgeBaseFile(connection);
      const byQid = new Map((await readJsonLinesIfExists<KnowledgeBaseEntry>(file)).map((e) => [e.qid, e]));
      for (const entry of entries) byQid.set(entry.qid, entry);
      await writeFileAtomic(file, toJsonLines(sortByNumericKey([...byQid.values()], (e) => e.qid)));
    });
    this.knowledgeBaseLock.set(connection, next.catch(() => undefined));
    await next;
  }

  async commitRun(run: RunRef, report: RunReport): Promise<CommitResult> {
    const dir = this.connectionDir(run.connection);
    const generation = path.join(dir, 'generations', run.runKey);
    const reportFile = path.join(dir, 'reports', `${run.runKey}.json`);
    const currentLink = path.join(dir, 'current');

    const alreadyCommitted = await readJsonIfExists<RunReport>(reportFile);
    if (alreadyCommitted && (await this.currentGeneration(run.connection)) === run.runKey) {
      return this.commitResult(run.connection, reportFile);
    }

    const previousAssets = await this.readCurrent<Asset>(run.connection, 'assets.jsonl');
    const previousFindings = await this.readCurrent<Finding>(run.connection, 'findings.jsonl');
    const { assets, findings } = await this.readPending(run);

    // Assets keep the time this connector first saw them; findings that Qualys no longer reports are closed.
    const firstSeen = new Map(previousAssets.map((a) => [a.key, a.firstSeenAt]));
    const mergedAssets = new Map(previousAssets.map((a) => [a.key, a]));
    for (const asset of assets) mergedAssets.set(asset.key, { ...asset, firstSeenAt: firstSeen.get(asset.key) ?? asset.firstSeenAt });
    const mergedFindings = new Map<string, Finding>(previousFindings.map((f) => [f.key, { ...f, status: 'fixed' }]));
    for (const finding of findings) mergedFindings.set(finding.key, finding);

    await writeFileAtomic(path.join(generation, 'assets.jsonl'), toJsonLines(sortByKey([...mergedAssets.values()])));
    await writeFileAtomic(path.join(generation, 'findings.jsonl'), toJsonLines(sortByKey([...mergedFindings.values()])));
    await writeJsonAtomic(reportFile, report);

    // The visible switch: one rename of a symlink.
    const tempLink = `${currentLink}.${run.runKey}.tmp`;
    await rm(tempLink, { force: true });
    await symlink(path.join('generations', run.runKey), tempLink);
    await rename(tempLink, currentLink);

    const state: SinkState & { lastWorkflowId: string; committedAt: string } = {
      watermark: report.watermark,
      lastRunKey: run.runKey,
      lastWorkflowId: run.workflowId,
      committedAt: report.committedAt,
    };
    await writeJsonAtomic(path.join(dir, 'state.json'), state);
    await rm(this.pendingDir(run), { recursive: true, force: true });
    await this.pruneGenerations(run.connection, run.runKey);
    return this.commitResult(run.connection, reportFile);
  }

  private async commitResult(connection: string, reportFile: string): Promise<CommitResult> {
    const assets = await this.readCurrent<Asset>(connection, 'assets.jsonl');
    const findings = await this.readCurrent<Finding>(connection, 'findings.jsonl');
    return {
      outputDir: path.join(this.connectionDir(connection), 'current'),
      reportFile,
      assetsTotal: assets.length,
      findingsTotal: findings.length,
    };
  }

  async readCurrent<T>(connection: string, file: 'assets.jsonl' | 'findings.jsonl'): Promise<T[]> {
    return readJsonLinesIfExists<T>(path.join(this.connectionDir(connection), 'current', file));
  }

  private async currentGeneration(connection: string): Promise<string | undefined> {
    try {
      return path.basename(await readlink(path.join(this.connectionDir(connection), 'current')));
    } catch {
      return undefined;
    }
  }

  private async readPending(run: RunRef): Promise<{ assets: Asset[]; findings: Finding[] }> {
    const dir = this.pendingDir(run);
    await mkdir(dir, { recursive: true });
    const assets: Asset[] = [];
    const findings: Finding[] = [];
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
      const page = await readJsonIfExists<{ assets: Asset[]; findings: Finding[] }>(path.join(dir, file));
      if (!page) continue;
      assets.push(...page.assets);
      findings.push(...page.findings);
    }
    return { assets, findings };
  }

  /** Keeps the current generation and the one before it (for a quick look at what changed). */
  private async pruneGenerations(connection: string, keep: string): Promise<void> {
    const dir = path.join(this.connectionDir(connection), 'generations');
    const reportsDir = path.join(this.connectionDir(connection), 'reports');
    const committed = await Promise.all(
      (await readdir(dir)).map(async (runKey) => ({
        runKey,
        at: (await readJsonIfExists<RunReport>(path.join(reportsDir, `${runKey}.json`)))?.committedAt ?? '',
      })),
    );
    const stale = committed
      .filter((g) => g.runKey !== keep)
      .sort((a, b) => b.at.localeCompare(a.at))
      .slice(1);
    for (const g of stale) await rm(path.join(dir, g.runKey), { recursive: true, force: true });
  }

  private pendingDir(run: RunRef): string {
    return path.join(this.connectionDir(run.connection), 'pending', run.runKey);
  }

  private knowledgeBaseFile(connection: string): string {
    return path.join(this.connectionDir(connection), 'knowledge-base.jsonl');
  }
}

function sortByKey<T extends { key: string }>(records: T[]): T[] {
  return records.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function sortByNumericKey<T>(records: T[], key: (r: T) => string): T[] {
  return records.sort((a, b) => Number(key(a)) - Number(key(b)));
}
