import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readdir, readlink, rm, symlink, rename, mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import path from 'node:path';
import type { CommitResult, RunRef } from '../activities/contracts';
import type { Asset, Finding } from '../model/exposure';
import type { ExposureSink, KnowledgeBaseEntry, RunReport, SinkState } from './sink';
import { compareKeys, groupByKey, mergeSortedJsonLines, type Keyed } from './sorted-merge';
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
    // Each page is written sorted by key, so the commit can merge pages without loading them.
    const base = path.join(this.pendingDir(run), pageKey);
    await writeFileAtomic(`${base}.assets.jsonl`, toJsonLines([...records.assets].sort(compareKeys)));
    await writeFileAtomic(`${base}.findings.jsonl`, toJsonLines([...records.findings].sort(compareKeys)));
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

    // Streamed k-way merges of the previous state with the run's pages (all sorted by key): memory
    // stays flat however large the estate. Assets keep the time this connector first saw them;
    // findings that Qualys no longer reports are closed.
    const pages = await this.pendingPages(run);
    const previous = (file: string): string => path.join(dir, 'current', file);
    await mergeInto<Asset>(path.join(generation, 'assets.jsonl'), [previous('assets.jsonl'), ...pages.map((p) => `${p}.assets.jsonl`)], (group) => {
      const latest = group[group.length - 1];
      if (latest.source === 0) return latest.record;
      return group[0].source === 0 ? { ...latest.record, firstSeenAt: group[0].record.firstSeenAt } : latest.record;
    });
    await mergeInto<Finding>(path.join(generation, 'findings.jsonl'), [previous('findings.jsonl'), ...pages.map((p) => `${p}.findings.jsonl`)], (group) => {
      const latest = group[group.length - 1];
      return latest.source === 0 ? { ...latest.record, status: 'fixed' } : latest.record;
    });
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
    const current = path.join(this.connectionDir(connection), 'current');
    return {
      outputDir: current,
      reportFile,
      assetsTotal: await countLines(path.join(current, 'assets.jsonl')),
      findingsTotal: await countLines(path.join(current, 'findings.jsonl')),
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

  /** The run's uploaded pages (path prefixes of their sorted files), in page order. */
  private async pendingPages(run: RunRef): Promise<string[]> {
    const dir = this.pendingDir(run);
    await mkdir(dir, { recursive: true });
    return (await readdir(dir))
      .filter((f) => f.endsWith('.assets.jsonl'))
      .sort()
      .map((f) => path.join(dir, f.slice(0, -'.assets.jsonl'.length)));
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

function sortByNumericKey<T>(records: T[], key: (r: T) => string): T[] {
  return records.sort((a, b) => Number(key(a)) - Number(key(b)));
}

/**
 * Writes the key-sorted merge of `sources` to `target` (atomically), one record per key: `pick` chooses
 * it from the records sharing that key, each tagged with the index of the file it came from.
 */
async function mergeInto<T extends Keyed>(
  target: string,
  sources: string[],
  pick: (group: Array<{ record: T; source: number }>) => T,
): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  const out = createWriteStream(temp, 'utf8');
  const finished = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  for await (const group of groupByKey(mergeSortedJsonLines<T>(sources))) {
    if (!out.write(`${JSON.stringify(pick(group))}\n`)) await once(out, 'drain');
  }
  out.end();
  await finished;
  await rename(temp, target);
}

async function countLines(file: string): Promise<number> {
  let count = 0;
  try {
    for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
      if (line.trim() !== '') count += 1;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return count;
}
