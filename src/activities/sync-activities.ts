import path from 'node:path';
import { readdir, rm } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import type {
  CommitResult,
  DetectionsFetched,
  EnumerationResult,
  KnowledgeBaseRefreshed,
  PageMapped,
  PageRange,
  PageRef,
  PageUploaded,
  RunRef,
  RunTimings,
  RunTotals,
  ValidationResult,
} from './contracts';
import type { ConnectionProfile, ConnectionProfiles } from '../config/connections';
import type { ExposureSink, KnowledgeBaseEntry } from '../sinks/sink';
import { MODEL_VERSION, type Asset, type Finding } from '../model/exposure';
import { mapAsset, mapFindings, type DetectionRecord, type HostAssetRecord, type HostRecord } from '../model/map-qualys';
import type { QualysCallOptions, DetectionStatus } from '../qualys/client';
import { accessProbes } from '../qualys/diagnostics';
import { readJsonIfExists, writeJsonAtomic } from '../sinks/atomic-file';
import { CallLog } from './call-log';
import { DEFAULT_LIMIT_HANDLING, StagedPageMissingError, translateFailures, type LimitHandling } from './failures';

export interface IdRange {
  idMin: number;
  idMax: number;
}

/** The part of the Qualys client the sync uses (the real client fits it). */
export interface QualysApi {
  listHostIds(range?: Partial<IdRange>, call?: QualysCallOptions): Promise<number[]>;
  listHosts(range: IdRange, call?: QualysCallOptions): Promise<HostRecord[]>;
  listDetections(
    range: IdRange,
    options?: { statuses?: readonly DetectionStatus[] },
    call?: QualysCallOptions,
  ): Promise<Array<HostRecord & { detections: DetectionRecord[] }>>;
  knowledgeBase(qids: readonly string[], call?: QualysCallOptions): Promise<KnowledgeBaseEntry[]>;
  knowledgeBaseModifiedSince(since: string, call?: QualysCallOptions): Promise<KnowledgeBaseEntry[]>;
  searchHostAssets(range: IdRange, call?: QualysCallOptions): Promise<HostAssetRecord[]>;
  countHostAssets(range?: Partial<IdRange>, call?: QualysCallOptions): Promise<number>;
  subscriptionLimits():
    | { concurrencyLimit?: number; rateLimit?: number; rateWindowSeconds?: number; rateRemaining?: number }
    | undefined;
}

export interface SyncActivityDeps {
  profiles: ConnectionProfiles;
  sink: ExposureSink;
  /** Where fetched pages wait for the next step, so a retry never asks Qualys again. */
  stagingDir: string;
  qualys(profile: ConnectionProfile): QualysApi;
  /** How Qualys' 409s are waited out; tests shorten the waits. */
  limits?: Partial<LimitHandling>;
  now?: () => Date;
}

const KNOWLEDGE_BASE_BATCH = 500;

interface StagedFetch {
  hosts: HostRecord[];
  hostAssets: HostAssetRecord[];
  detections: Array<HostRecord & { detections: DetectionRecord[] }>;
}

/** The activities of a `qualysSync` run, built from injected dependencies. */
export function createSyncActivities(deps: SyncActivityDeps) {
  const now = deps.now ?? (() => new Date());
  const limits: LimitHandling = { ...DEFAULT_LIMIT_HANDLING, ...deps.limits };
  const runDir = (run: RunRef): string => path.join(deps.stagingDir, run.connection, run.runKey);
  const pageDir = (run: RunRef, page: PageRange): string => path.join(runDir(run), pageKey(page));

  /**
   * Runs one step against Qualys: every call is logged for the run report, heartbeats keep the
   * attempt alive while Qualys thinks, cancellation aborts the HTTP call, and failures are typed.
   */
  async function withQualys<T>(
    connection: string,
    run: RunRef | undefined,
    body: (client: QualysApi, call: QualysCallOptions) => Promise<T>,
  ): Promise<T> {
    const log = run ? CallLog.forRun(runDir(run)) : undefined;
    const recorder = log?.recorder();
    const context = activityContext();
    const stopHeartbeats = startHeartbeats(context);
    try {
      return await translateFailures(
        async () => {
          const client = deps.qualys(deps.profiles.get(connection));
          return await body(client, { signal: context?.cancellationSignal, onCall: recorder?.onCall });
        },
        { limits, attempt: context?.info.attempt ?? 1, recordWait: (entry) => log?.append(entry) ?? Promise.resolve() },
      );
    } finally {
      stopHeartbeats();
      await recorder?.flush();
    }
  }

  /** Asks the KnowledgeBase about the QIDs the cache does not know (batches of 500); returns those asked. */
  async function lookUpUnknownQids(run: RunRef, qids: readonly string[]): Promise<string[]> {
    const known = await deps.sink.readKnowledgeBase(run.connection, qids);
    const unknown = qids.filter((q) => !known.has(q)).sort((a, b) => Number(a) - Number(b));
    if (unknown.length === 0) return [];
    await withQualys(run.connection, run, async (client, call) => {
      for (let i = 0; i < unknown.length; i += KNOWLEDGE_BASE_BATCH) {
        const batch = unknown.slice(i, i + KNOWLEDGE_BASE_BATCH);
        const found = new Map((await client.knowledgeBase(batch, call)).map((e) => [e.qid, e]));
        // A QID the KnowledgeBase does not know is remembered too, so it is not asked again.
        const entries = batch.map((qid) => {
          const entry = found.get(qid);
          return entry ? toCacheEntry(entry) : { qid, cves: [], unknown: true };
        });
        await deps.sink.saveKnowledgeBase(run.connection, entries);
      }
    });
    return unknown;
  }

  return {
    /** The checks of `npm run doctor` that a run cannot do without; fails fast and non-retryably. */
    async validateCredentials(input: { connection: string; run?: RunRef }): Promise<ValidationResult> {
      return withQualys(input.connection, input.run, async (client, call) => {
        await accessProbes.authentication(client, call);
        await accessProbes.knowledgeBase(client, call);
        await accessProbes.hostAsset(client, call);
        const profile = deps.profiles.get(input.connection);
        const observed = client.subscriptionLimits();
        return {
          apiUrl: profile.apiUrl,
          username: profile.username,
          concurrencyLimit: observed?.concurrencyLimit,
          rateLimit: observed?.rateLimit,
          rateWindowSeconds: observed?.rateWindowSeconds,
          rateRemaining: observed?.rateRemaining,
        };
      });
    },

    /** Learns which cached QIDs Qualys changed since the last committed run (one call). */
    async refreshKnowledgeBase(input: { run: RunRef }): Promise<KnowledgeBaseRefreshed> {
      const { watermark } = await deps.sink.readState(input.run.connection);
      if (!watermark) return { refreshed: 0 };
      const since = `${watermark.slice(0, 19)}Z`;
      return withQualys(input.run.connection, input.run, async (client, call) => {
        const changed = await client.knowledgeBaseModifiedSince(since, call);
        if (changed.length > 0) await deps.sink.saveKnowledgeBase(input.run.connection, changed.map(toCacheEntry));
        return { refreshed: changed.length, since };
      });
    },

    async enumerateAssets(input: { run: RunRef; pageSize: number }): Promise<EnumerationResult> {
      return withQualys(input.run.connection, input.run, async (client, call) => {
        const ids = await client.listHostIds({}, call);
        return { hostCount: ids.length, pages: cutIntoPages(ids, input.pageSize) };
      });
    },

    async fetchDetections({ run, page, statuses }: PageRef & { statuses?: DetectionStatus[] }): Promise<DetectionsFetched> {
      const dir = pageDir(run, page);
      return withQualys(run.connection, run, async (client, call) => {
        // Three different Qualys APIs, each counting its own limits: one call to each at once stays
        // within "one page, one call per API". Each part is staged on its own, so a retry after a
        // failure fetches only what is missing.
        const parts = [
          staged(path.join(dir, 'hosts.json'), () => client.listHosts(page, call)),
          staged(path.join(dir, 'host-assets.json'), () => client.searchHostAssets(page, call)),
          staged(path.join(dir, 'detections.json'), () => client.listDetections(page, { statuses }, call)),
        ] as const;
        // The attempt ends only once all three calls have, so a retry never overlaps a call still running.
        await Promise.allSettled(parts);
        const [hosts, , detections] = await Promise.all(parts);
        const qids = [...new Set(detections.flatMap((h) => h.detections.map((d) => d.qid)))];
        await writeJsonAtomic(path.join(dir, 'qids.json'), qids);
        return { hosts: hosts.length, detections: detections.reduce((n, h) => n + h.detections.length, 0) };
      });
    },

    /**
     * Looks up every QID of the fetched pages that the cache does not know, in batches of 500: the
     * fewest KnowledgeBase calls the run can make. (Pages staged on another machine are covered by
     * mapPage, which looks up whatever is still missing.)
     */
    async lookupKnowledgeBase({ run }: { run: RunRef }): Promise<{ lookedUp: number }> {
      const dir = runDir(run);
      const pageDirs = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
      const qids = new Set<string>();
      for (const pageQids of await Promise.all(pageDirs.map((d) => readJsonIfExists<string[]>(path.join(d, 'qids.json'))))) {
        for (const qid of pageQids ?? []) qids.add(qid);
      }
      const lookedUp = await lookUpUnknownQids(run, [...qids]);
      return { lookedUp: lookedUp.length };
    },

    async mapPage({ run, page }: PageRef): Promise<PageMapped> {
      const dir = pageDir(run, page);
      const fetched = await translateFailures(() => readStagedFetch(dir));
      const qids = [...new Set(fetched.detections.flatMap((h) => h.detections.map((d) => d.qid)))];
      const unknown = await lookUpUnknownQids(run, qids);
      const knowledgeBase = await deps.sink.readKnowledgeBase(run.connection, qids);

      const seenAt = run.startedAt;
      const hostAssets = new Map(fetched.hostAssets.map((a) => [a.qwebHostId, a]));
      const hosts = new Map(fetched.hosts.map((h) => [h.id, h]));
      // A host seen only by Host List Detection (scoped differently) is still an asset.
      for (const h of fetched.detections) if (!hosts.has(h.id)) hosts.set(h.id, h);
      const assets: Asset[] = [...hosts.values()].map((h) => mapAsset(run.connection, h, hostAssets.get(h.id), seenAt));
      const findings: Finding[] = [];
      let droppedNoCve = 0;
      let droppedUnknownQid = 0;
      let detections = 0;
      for (const host of fetched.detections) {
        const mapped = mapFindings(run.connection, host.id, host.detections, knowledgeBase, seenAt);
        findings.push(...mapped.findings);
        detections += host.detections.length;
        droppedNoCve += mapped.droppedNoCve;
        droppedUnknownQid += mapped.droppedUnknownQid;
      }
      await writeJsonAtomic(path.join(dir, 'mapped.json'), { assets, findings });
      return {
        assets: assets.length,
        findings: findings.length,
        detections,
        droppedNoCve,
        droppedUnknownQid,
        knowledgeBaseLookups: unknown.length,
      };
    },

    async uploadPage({ run, page }: PageRef): Promise<PageUploaded> {
      return translateFailures(async () => {
        const mapped = await readJsonIfExists<{ assets: Asset[]; findings: Finding[] }>(path.join(pageDir(run, page), 'mapped.json'));
        if (!mapped) {
          throw new StagedPageMissingError(
            `page ${pageKey(page)} is not staged on this worker (${deps.stagingDir}); the workflow will fetch it again`,
          );
        }
        await deps.sink.writePage(run, pageKey(page), mapped);
        return { assets: mapped.assets.length, findings: mapped.findings.length };
      });
    },

    async commitRun(input: { run: RunRef; totals: RunTotals; timings: RunTimings }): Promise<CommitResult> {
      return translateFailures(async () => {
        const { run, totals, timings } = input;
        const calls = await CallLog.forRun(runDir(run)).summarise();
        const committedAt = now().toISOString();
        const result = await deps.sink.commitRun(run, {
          modelVersion: MODEL_VERSION,
          connection: run.connection,
          workflowId: run.workflowId,
          runKey: run.runKey,
          startedAt: run.startedAt,
          committedAt,
          durationSeconds: Math.round((Date.parse(committedAt) - Date.parse(run.startedAt)) / 1000),
          totals,
          dropped: { qidWithoutCve: totals.droppedNoCve, qidNotInKnowledgeBase: totals.droppedUnknownQid },
          apiCalls: { ...calls, total: Object.values(calls.callsByEndpoint).reduce((a, b) => a + b, 0) },
          waiting: { rateLimitTimerSeconds: timings.rateLimitTimerSeconds, retryDelaySeconds: calls.retryDelaySeconds },
          continuedAsNew: timings.continuedAsNew,
          watermark: run.startedAt,
        });
        await rm(runDir(run), { recursive: true, force: true });
        return result;
      });
    },
  };
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;

/** Cuts the sorted host ID set into contiguous ID ranges of at most `pageSize` hosts. */
export function cutIntoPages(sortedIds: readonly number[], pageSize: number): PageRange[] {
  const pages: PageRange[] = [];
  for (let start = 0; start < sortedIds.length; start += pageSize) {
    const end = Math.min(start + pageSize, sortedIds.length) - 1;
    pages.push({ index: pages.length, idMin: sortedIds[start], idMax: sortedIds[end], hosts: end - start + 1 });
  }
  return pages;
}

function pageKey(page: PageRange): string {
  return `page-${String(page.index).padStart(5, '0')}-${page.idMin}-${page.idMax}`;
}

function toCacheEntry(vuln: KnowledgeBaseEntry): KnowledgeBaseEntry {
  return { qid: vuln.qid, cves: vuln.cves, severity: vuln.severity, title: vuln.title, lastServiceModified: vuln.lastServiceModified };
}

/** The activity context, or undefined when a function runs outside a worker (unit tests). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Heartbeats at a third of the heartbeat timeout while a long Qualys call runs. */
function startHeartbeats(context: Context | undefined): () => void {
  const timeoutMs = context?.info.heartbeatTimeoutMs;
  if (!context || !timeoutMs) return () => undefined;
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), Math.max(500, timeoutMs / 3));
  return () => clearInterval(timer);
}

async function staged<T>(file: string, fetch: () => Promise<T>): Promise<T> {
  const existing = await readJsonIfExists<T>(file);
  if (existing !== undefined) return existing;
  const value = await fetch();
  await writeJsonAtomic(file, value);
  return value;
}

async function readStagedFetch(dir: string): Promise<StagedFetch> {
  const [hosts, hostAssets, detections] = await Promise.all([
    readJsonIfExists<StagedFetch['hosts']>(path.join(dir, 'hosts.json')),
    readJsonIfExists<StagedFetch['hostAssets']>(path.join(dir, 'host-assets.json')),
    readJsonIfExists<StagedFetch['detections']>(path.join(dir, 'detections.json')),
  ]);
  if (!hosts || !hostAssets || !detections) {
    throw new StagedPageMissingError(`the fetched page is not staged in ${dir} on this worker; the workflow will fetch it again`);
  }
  return { hosts, hostAssets, detections };
}
