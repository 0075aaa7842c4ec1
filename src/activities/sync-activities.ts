import path from 'node:path';
import { rm } from 'node:fs/promises';
import type {
  CommitResult,
  DetectionsFetched,
  EnumerationResult,
  PageMapped,
  PageRange,
  PageRef,
  PageUploaded,
  RunRef,
  RunTotals,
  ValidationResult,
} from './contracts';
import type { ConnectionProfile, ConnectionProfiles } from '../config/connections';
import type { ExposureSink, KnowledgeBaseEntry } from '../sinks/sink';
import { MODEL_VERSION, type Asset, type Finding } from '../model/exposure';
import {
  mapAsset,
  mapFindings,
  type DetectionRecord,
  type HostAssetRecord,
  type HostRecord,
} from '../model/map-qualys';
import { readJsonIfExists, writeJsonAtomic } from '../sinks/atomic-file';
import { translateFailures } from './failures';

export interface IdRange {
  idMin: number;
  idMax: number;
}

/** The part of the Qualys client the sync uses (the real client and test doubles both fit). */
export interface QualysApi {
  listHostIds(range?: Partial<IdRange>): Promise<number[]>;
  listHosts(range: IdRange): Promise<HostRecord[]>;
  listDetections(range: IdRange): Promise<Array<HostRecord & { detections: DetectionRecord[] }>>;
  knowledgeBase(qids: string[]): Promise<KnowledgeBaseEntry[]>;
  searchHostAssets(range: IdRange): Promise<HostAssetRecord[]>;
  countHostAssets(range?: Partial<IdRange>): Promise<number>;
  subscriptionLimits():
    | { concurrencyLimit?: number; rateLimit?: number; rateWindowSeconds?: number }
    | undefined;
}

export interface SyncActivityDeps {
  profiles: ConnectionProfiles;
  sink: ExposureSink;
  /** Where fetched pages wait for the next step, so a retry never asks Qualys again. */
  stagingDir: string;
  qualys(profile: ConnectionProfile): QualysApi;
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
  const stagingFor = (run: RunRef, page?: PageRange): string =>
    path.join(deps.stagingDir, run.connection, run.runKey, page ? pageKey(page) : '');
  const clientFor = (connection: string): QualysApi => deps.qualys(deps.profiles.get(connection));

  return {
    async validateCredentials(input: { connection: string }): Promise<ValidationResult> {
      return translateFailures(async () => {
        const profile = deps.profiles.get(input.connection);
        const client = deps.qualys(profile);
        // One cheap call per API family: Host List (API v2, rate-limited) and Asset Management (QPS).
        await client.listHostIds({ idMin: 1, idMax: 1 });
        await client.countHostAssets({ idMin: 1, idMax: 1 });
        const limits = client.subscriptionLimits();
        return {
          apiUrl: profile.apiUrl,
          username: profile.username,
          concurrencyLimit: limits?.concurrencyLimit,
          rateLimit: limits?.rateLimit,
          rateWindowSeconds: limits?.rateWindowSeconds,
        };
      });
    },

    async enumerateAssets(input: { run: RunRef; pageSize: number }): Promise<EnumerationResult> {
      return translateFailures(async () => {
        const ids = await clientFor(input.run.connection).listHostIds();
        return { hostCount: ids.length, pages: cutIntoPages(ids, input.pageSize) };
      });
    },

    async fetchDetections({ run, page }: PageRef): Promise<DetectionsFetched> {
      return translateFailures(async () => {
        const dir = stagingFor(run, page);
        const client = clientFor(run.connection);
        // Each part is staged on its own, so a retry after a failure fetches only what is missing.
        const hosts = await staged(path.join(dir, 'hosts.json'), () => client.listHosts(page));
        await staged(path.join(dir, 'host-assets.json'), () => client.searchHostAssets(page));
        const detections = await staged(path.join(dir, 'detections.json'), () => client.listDetections(page));
        return { hosts: hosts.length, detections: detections.reduce((n, h) => n + h.detections.length, 0) };
      });
    },

    async mapPage({ run, page }: PageRef): Promise<PageMapped> {
      return translateFailures(async () => {
        const dir = stagingFor(run, page);
        const fetched = await readStagedFetch(dir);
        const qids = [...new Set(fetched.detections.flatMap((h) => h.detections.map((d) => d.qid)))];
        const knowledgeBase = await deps.sink.readKnowledgeBase(run.connection, qids);
        const unknown = qids.filter((q) => !knowledgeBase.has(q));
        for (let i = 0; i < unknown.length; i += KNOWLEDGE_BASE_BATCH) {
          const batch = unknown.slice(i, i + KNOWLEDGE_BASE_BATCH);
          const found = await clientFor(run.connection).knowledgeBase(batch);
          // A QID the KnowledgeBase does not know has no CVE to map; remember that too.
          const entries = batch.map((qid) => found.find((e) => e.qid === qid) ?? { qid, cves: [] });
          await deps.sink.saveKnowledgeBase(run.connection, entries);
          for (const entry of entries) knowledgeBase.set(entry.qid, entry);
        }

        const seenAt = run.startedAt;
        const hostAssets = new Map(fetched.hostAssets.map((a) => [a.qwebHostId, a]));
        const hosts = new Map(fetched.hosts.map((h) => [h.id, h]));
        for (const h of fetched.detections) if (!hosts.has(h.id)) hosts.set(h.id, h);
        const assets: Asset[] = [...hosts.values()].map((h) => mapAsset(run.connection, h, hostAssets.get(h.id), seenAt));
        const findings: Finding[] = [];
        let droppedNoCve = 0;
        let detections = 0;
        for (const host of fetched.detections) {
          const mapped = mapFindings(run.connection, host.id, host.detections, knowledgeBase, seenAt);
          findings.push(...mapped.findings);
          droppedNoCve += mapped.droppedNoCve;
          detections += host.detections.length;
        }
        await writeJsonAtomic(path.join(dir, 'mapped.json'), { assets, findings });
        return { assets: assets.length, findings: findings.length, detections, droppedNoCve, knowledgeBaseLookups: unknown.length };
      });
    },

    async uploadPage({ run, page }: PageRef): Promise<PageUploaded> {
      return translateFailures(async () => {
        const mapped = await readJsonIfExists<{ assets: Asset[]; findings: Finding[] }>(
          path.join(stagingFor(run, page), 'mapped.json'),
        );
        if (!mapped) throw new Error(`page ${pageKey(page)} has not been mapped on this worker's staging directory`);
        await deps.sink.writePage(run, pageKey(page), mapped);
        return { assets: mapped.assets.length, findings: mapped.findings.length };
      });
    },

    async commitRun(input: { run: RunRef; totals: RunTotals }): Promise<CommitResult> {
      return translateFailures(async () => {
        const { run, totals } = input;
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
          dropped: { noCve: totals.droppedNoCve },
          watermark: run.startedAt,
        });
        await rm(stagingFor(run), { recursive: true, force: true });
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
    throw new Error(`the fetched page is not staged in ${dir}: fetchDetections must run first on a worker sharing this staging directory`);
  }
  return { hosts, hostAssets, detections };
}
