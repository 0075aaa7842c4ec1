import { Context } from '@temporalio/activity';
import { z } from 'zod';
import type {
  CommitResult,
  DetectionsFetched,
  EnumerationResult,
  KnowledgeBaseRefreshed,
  PageMapped,
  PageRange,
  PageRef,
  RunPlan,
  RunRef,
  RunTimings,
  RunTotals,
  ValidationResult,
} from '../contracts/run';
import { DEFAULT_MAX_REJECTED_SHARE } from '../contracts/run';
import type { ConnectionProfile, ConnectionProfiles } from '../config/connections';
import { SecretMasker, proxySecrets } from '../config/secrets';
import { MODEL_VERSION } from '../model/exposure';
import type { DetectionStatus, HostFilter, HostIdSet, QualysCallOptions } from '../qualys/client';
import { accessProbes } from '../qualys/diagnostics';
import type { QualysEndpoint } from '../qualys/endpoints';
import { hostAssetSchema, qualysHostSchema, type HostAsset, type HostDetections, type KnowledgeBaseVuln, type QualysHost } from '../qualys/schemas';
import { ShrinkGuardError, StagedPageMissingError, TooManyRejectedRecordsError } from '../store/errors';
import type { ExposureStore } from '../store/exposure-store';
import { shrinkProblem } from '../store/shrink-guard';
import { countStepFailure } from '../store/step-failures';
import { rejectedRecordRowSchema, type RejectedRecordRow } from '../store/rejected-records';
import type { AnswerPart, CommitPolicy, KnowledgeBaseEntry } from '../store/types';
import { callRecorder, summariseCalls } from './call-log';
import { pageMapping, type UnreadHosts } from './page-mapping';
import { cutIntoPages, hostsOfPages, planRun, sortedIncludes, type PlanRequest } from './run-plan';
import { DEFAULT_LIMIT_HANDLING, translateFailures, type FailureContext, type LimitHandling } from './failures';
import { inLanes } from '../lanes/in-lanes';
import { QIDS_PER_KNOWLEDGE_BASE_CALL, planLookup, type KnowledgeBaseRound, type KnowledgeBaseRoundResult } from '../contracts/knowledge-base-lookup';

export interface IdRange {
  idMin: number;
  idMax: number;
}

/** The part of the Qualys client the sync uses (the real client fits it). */
export interface QualysApi {
  listHostIdSet(range?: Partial<IdRange>, filter?: HostFilter, call?: QualysCallOptions): Promise<HostIdSet>;
  /** Host List Detection, each host handed over as soon as it is read (provisional until the promise resolves). */
  streamDetections(
    range: IdRange,
    options: { statuses?: readonly DetectionStatus[]; ids?: readonly number[] },
    call: QualysCallOptions,
    take: (host: HostDetections) => void,
  ): Promise<void>;
  /** Host List details, each host handed over as soon as it is read (provisional until the promise resolves). */
  streamHosts(range: IdRange, call: QualysCallOptions, take: (host: QualysHost) => void, filter?: HostFilter): Promise<void>;
  /** Asset Management host assets, each handed over as soon as it is read (provisional until the promise resolves). */
  streamHostAssets(range: IdRange, call: QualysCallOptions, take: (asset: HostAsset) => void, filter?: HostFilter): Promise<void>;
  knowledgeBase(qids: readonly string[], call?: QualysCallOptions): Promise<KnowledgeBaseVuln[]>;
  knowledgeBaseModifiedSince(since: string, call?: QualysCallOptions): Promise<KnowledgeBaseVuln[]>;
  countHostAssets(range?: Partial<IdRange>, call?: QualysCallOptions): Promise<number>;
  subscriptionLimits(
    endpoint?: QualysEndpoint,
  ): { concurrencyLimit?: number; rateLimit?: number; rateWindowSeconds?: number; rateRemaining?: number } | undefined;
}

export interface SyncActivityDeps {
  profiles: ConnectionProfiles;
  /** The exposure store: staging, current state, KnowledgeBase cache, reports (shared by every worker). */
  store: ExposureStore;
  qualys(profile: ConnectionProfile): QualysApi;
  /** How Qualys' 409s are waited out; tests shorten the waits. */
  limits?: Partial<LimitHandling>;
  /** Masks secrets in failure messages and the runs table; default: the profiles' and the proxy's credentials. */
  masker?: SecretMasker;
  now?: () => Date;
}

interface StagedFetch {
  hosts: QualysHost[];
  hostAssets: HostAsset[];
}

/** The activities of a `qualysSync` run, built from injected dependencies. */
export function createSyncActivities(deps: SyncActivityDeps) {
  const now = deps.now ?? (() => new Date());
  const limits: LimitHandling = { ...DEFAULT_LIMIT_HANDLING, ...deps.limits };
  const { store } = deps;
  const masker = deps.masker ?? new SecretMasker([...deps.profiles.secrets(), ...proxySecrets(process.env)]);

  /**
   * Runs one step against Qualys: every call is logged for the run report, heartbeats keep the
   * attempt alive while Qualys thinks, cancellation aborts the HTTP call, and failures are typed.
   */
  async function withQualys<T>(
    connection: string,
    run: RunRef | undefined,
    body: (client: QualysApi, call: QualysCallOptions) => Promise<T>,
  ): Promise<T> {
    const recorder = callRecorder();
    const context = Context.current();
    try {
      const progress = (): HeartbeatProgress => {
        const calls = recorder.entries.filter((e) => e.type === 'call');
        const last = calls.at(-1);
        return { qualysCalls: calls.length, ...(last && last.type === 'call' ? { lastEndpoint: last.endpoint } : {}) };
      };
      return await withHeartbeats(context, progress, () =>
        translateFailures(
          async () => {
            const client = deps.qualys(deps.profiles.get(connection));
            return await body(client, { signal: context.cancellationSignal, onCall: recorder.onCall });
          },
          { limits, attempt: context.info.attempt, recordWait: recorder.wait, countFailure: stepFailureCounter(context), masker },
        ),
      );
    } finally {
      // Won or lost, the attempt's calls count against the subscription: the report must see them.
      // (A store that is down loses this attempt's entries; the attempt's own failure says why.)
      if (run) await store.appendCalls(run, recorder.entries).catch(() => undefined);
    }
  }

  /** Counts a step's failures of one kind in the store, across its attempts and workers. */
  function stepFailureCounter(context: Context | undefined): FailureContext['countFailure'] {
    const workflowRunId = context?.info.workflowExecution?.runId;
    if (!context || !workflowRunId) return undefined;
    const step = { workflowRunId, activityId: context.info.activityId };
    return (kind) => countStepFailure(store.pool, step, kind);
  }

  /** A store step: typed failures, and heartbeats while it runs (a commit can take minutes). */
  function storeStep<T>(what: string, body: () => Promise<T>): Promise<T> {
    const context = Context.current();
    return withHeartbeats(context, () => ({ store: what }), () => translateFailures(body, { limits, attempt: context.info.attempt, masker }));
  }

  /**
   * Asks the KnowledgeBase about the QIDs the cache does not know, in batches of 500 side by side — as
   * many at once as the KnowledgeBase's own limit leaves the connector (limit − 1; the store's slots
   * stay the bound). Each batch is cached as it lands. Returns the QIDs asked about.
   */
  async function lookUpUnknownQids(run: RunRef, qids: readonly string[]): Promise<string[]> {
    const known = await store.readKnowledgeBase(run.connection, qids);
    const unknown = qids.filter((q) => !known.has(q)).sort((a, b) => Number(a) - Number(b));
    if (unknown.length === 0) return [];
    const batches: string[][] = [];
    for (let i = 0; i < unknown.length; i += QIDS_PER_KNOWLEDGE_BASE_CALL) batches.push(unknown.slice(i, i + QIDS_PER_KNOWLEDGE_BASE_CALL));
    await withQualys(run.connection, run, async (client, call) => {
      const limit = (client.subscriptionLimits('knowledgeBase') ?? client.subscriptionLimits())?.concurrencyLimit;
      // The attempt ends only once every lane has, so a retry never overlaps a call still running.
      await inLanes(batches, Math.max(1, (limit ?? 2) - 1), async (batch) => {
        const found = new Map((await client.knowledgeBase(batch, call)).map((e) => [e.qid, e]));
        // A QID the KnowledgeBase does not know is remembered too, so it is not asked again.
        const entries = batch.map((qid) => {
          const entry = found.get(qid);
          return entry ? toCacheEntry(entry) : { qid, cves: [], unknown: true };
        });
        await store.saveKnowledgeBase(run.connection, entries);
      });
    });
    return unknown;
  }

  /**
   * One part of a page's Qualys answer, staged while Qualys' body is parsed: each record goes on to the
   * store (COPY) as soon as it is read, and the part is committed once the body has been read in full —
   * a body cut short stages nothing. The answer's records that cannot be read are staged beside it
   * (`<part>Rejected`) in the same transaction, for the page's upload to set aside. From staging when an
   * earlier attempt fetched it. Returns its records.
   */
  async function stagedPart<R>(
    run: RunRef,
    page: PageRange,
    part: AnswerPart,
    call: QualysCallOptions,
    fetch: (take: (record: R) => void, call: QualysCallOptions) => Promise<void>,
  ): Promise<number> {
    const existing = await store.stagedPartLength(run, page, part);
    if (existing !== undefined) return existing;
    let records = 0;
    const rejected = rejectedCollector(call);
    await store.stageStreamedPart(
      run,
      page,
      part,
      (emit) =>
        fetch((record) => {
          records += 1;
          emit(JSON.stringify(record));
        }, rejected.call),
      () => [{ part: `${part}Rejected`, body: rejected.records }],
    );
    return records;
  }

  /** The detections part, staged like the others (see `stagedPart`) with the page's QIDs beside it. Returns its detections. */
  async function stagedDetections(
    run: RunRef,
    page: PageRange,
    fetch: QualysApi['streamDetections'],
    options: { statuses?: DetectionStatus[]; ids?: readonly number[] },
    call: QualysCallOptions,
  ): Promise<number> {
    const existing = await store.stagedDetectionTotals(run, page);
    if (existing !== undefined) return existing.detections;
    const qids = new Set<string>();
    let detections = 0;
    const rejected = rejectedCollector(call);
    await store.stageStreamedPart(
      run,
      page,
      'detections',
      (emit) =>
        fetch(page, options, rejected.call, (host) => {
          detections += host.detections.length;
          for (const d of host.detections) qids.add(d.qid);
          emit(JSON.stringify(host));
        }),
      () => [
        { part: 'qids', body: [...qids] },
        { part: 'detectionsRejected', body: rejected.records },
      ],
    );
    return detections;
  }

  /** How many of a fetched page's QIDs the cache does not know (the page is applied once it knows them all). */
  async function unknownQidsOf(run: RunRef, page: PageRange): Promise<number> {
    const qids = (await store.stagedPageQids(run, page)) ?? [];
    const known = await store.readKnowledgeBase(run.connection, qids);
    return qids.filter((q) => !known.has(q)).length;
  }

  /** What mapping a page needs besides its detections (which are read back batch by batch). */
  async function readStagedPage(run: RunRef, page: PageRange): Promise<StagedFetch & { qids: string[]; rejected: RejectedByPart }> {
    const [hosts, hostAssets, qids, ...rejectedParts] = await Promise.all([
      store.readStagedPart(run, page, 'hosts', z.array(qualysHostSchema)),
      store.readStagedPart(run, page, 'hostAssets', z.array(hostAssetSchema)),
      store.stagedPageQids(run, page),
      // Absent for a part staged before rejected records were staged beside it: none were.
      ...ANSWER_PARTS.map((part) => store.readStagedPart(run, page, `${part}Rejected`, z.array(rejectedRecordRowSchema))),
    ]);
    const rejected = new Map(ANSWER_PARTS.map((part, i) => [part, rejectedParts[i] ?? []]));
    if (!hosts || !hostAssets || !qids) {
      throw new StagedPageMissingError(
        `Page ${page.index + 1} (hosts ${page.idMin}–${page.idMax}) of run ${run.runKey} is not staged in the store: its run was abandoned or its staging cleared. Start a new run.`,
      );
    }
    return { hosts, hostAssets, qids, rejected };
  }

  /**
   * Refuses to commit a run that set aside more of the records it read than `maxShare`: what could not
   * be read is kept as it was, and past that share too much of the estate would be.
   */
  async function checkRejectedShare(run: RunRef, maxShare: number): Promise<void> {
    const share = await store.rejectedShare(run);
    if (share === undefined || share.rejected === 0 || share.rejected <= maxShare * share.read) return;
    const percent = (n: number): string => `${Number((n * 100).toPrecision(3))} %`;
    throw new TooManyRejectedRecordsError(
      `Run ${run.runKey} of connection ${run.connection} could not read ${share.rejected} of the ${share.read} records Qualys sent ` +
        `(${percent(share.rejected / share.read)}), more than maxRejectedShare allows (${percent(maxShare)}). Nothing was committed: ` +
        `the connection's data is as the last committed run left it. First: ${share.first.join('; ')}. ` +
        `What to do: read the run's records in the store (SELECT * FROM rejected_records WHERE run_key = '${run.runKey}') and report them ` +
        `to the connector's maintainers; to commit such a run anyway (the hosts those records are about keep what the store holds), ` +
        'run again with a larger maxRejectedShare.',
    );
  }

  return {
    /** The checks of `npm run doctor` that a run cannot do without; fails fast and non-retryably. */
    async validateCredentials(input: { connection: string; run?: RunRef }): Promise<ValidationResult> {
      return withQualys(input.connection, input.run, async (client, call) => {
        const { responseTime } = await accessProbes.authentication(client, call);
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
          qualysTime: isoTime(responseTime),
        };
      });
    },

    /** Learns which cached QIDs Qualys changed since the last committed run (one call). */
    async refreshKnowledgeBase(input: { run: RunRef }): Promise<KnowledgeBaseRefreshed> {
      const { watermark } = await storeStep('read the watermark', () => store.readState(input.run.connection));
      if (!watermark) return { refreshed: 0 };
      const since = `${watermark.slice(0, 19)}Z`;
      return withQualys(input.run.connection, input.run, async (client, call) => {
        const changed = await client.knowledgeBaseModifiedSince(since, call);
        if (changed.length > 0) await store.saveKnowledgeBase(input.run.connection, changed.map(toCacheEntry));
        return { refreshed: changed.length, since };
      });
    },

    /**
     * Decides full or incremental, lists the host IDs (and, incremental, the hosts Qualys processed
     * since the watermark), cuts the hosts to ask for into pages and records the page list in the store.
     * A host count that collapsed against the last committed run stops the run here, before a single
     * page is fetched.
     */
    async enumerateAssets(input: {
      run: RunRef;
      pageSize: number;
      shrinkGuard: Pick<CommitPolicy, 'allowShrink' | 'maxShrinkShare'>;
      planning?: PlanRequest;
      /** Qualys' time at the run's first call (from validateCredentials). */
      qualysTime?: string;
    }): Promise<EnumerationResult> {
      const { run } = input;
      const previous = await storeStep('read the connection\'s state', () => store.readState(run.connection));
      const plan = input.planning ? planRun(input.planning, previous, input.qualysTime) : { mode: 'full' as const, reason: 'a full run' };
      const listed = await withQualys(run.connection, run, async (client, call) => {
        const all = await client.listHostIdSet({}, {}, call);
        const changed = plan.since ? await client.listHostIdSet({}, { processedAfter: plan.since }, call) : undefined;
        return { all: all.ids, changed: changed?.ids };
      });
      return storeStep('record the page list', async () => {
        const problem = shrinkProblem(previous.hostCount, listed.all.length, input.shrinkGuard);
        if (problem) throw new ShrinkGuardError(problem);
        let pages: PageRange[];
        let pageHostIds: number[][] | undefined;
        if (plan.mode === 'incremental' && listed.changed) {
          // Changed hosts, plus hosts in the estate the store does not hold as active (added with an
          // old scan, or back after a removal) and hosts with a QID whose CVEs changed since the last
          // commit, so their findings follow the KnowledgeBase. Each page asks for its hosts by ID.
          const inEstate = (id: number): boolean => sortedIncludes(listed.all, id);
          const ask = new Set(listed.changed.filter(inEstate));
          for (const id of await store.hostsNotActive(run.connection, listed.all)) ask.add(id);
          for (const id of await store.hostsWithRemappedQids(run.connection)) if (inEstate(id)) ask.add(id);
          const sorted = [...ask].sort((a, b) => a - b);
          pages = cutIntoPages(sorted, input.pageSize).map((page) => ({ ...page, listedHosts: true }));
          pageHostIds = hostsOfPages(sorted, input.pageSize);
        } else {
          pages = cutIntoPages(listed.all, input.pageSize);
        }
        await store.beginRun(run, pages, listed.all.length, { plan, hostIds: listed.all, pageHostIds });
        return { hostCount: listed.all.length, hostsAsked: pages.reduce((n, p) => n + p.hosts, 0), pages, plan };
      });
    },

    async fetchDetections({ run, page, statuses }: PageRef & { statuses?: DetectionStatus[] }): Promise<DetectionsFetched> {
      // An incremental run's page asks only for its listed hosts (the changed ones of its range).
      const ids = page.listedHosts ? await storeStep('read the page\'s hosts', () => store.readPageHostIds(run, page)) : undefined;
      return withQualys(run.connection, run, async (client, call) => {
        // Three different Qualys APIs, each counting its own limits: one call to each at once stays
        // within "one page, one call per API". Each part is staged on its own, so a retry after a
        // failure fetches only what is missing.
        const parts = [
          stagedPart<QualysHost>(run, page, 'hosts', call, (take, partCall) => client.streamHosts(page, partCall, take, { ids })),
          stagedPart<HostAsset>(run, page, 'hostAssets', call, (take, partCall) => client.streamHostAssets(page, partCall, take, { ids })),
          stagedDetections(run, page, client.streamDetections.bind(client), { statuses, ids }, call),
        ] as const;
        // The attempt ends only once all three calls have, so a retry never overlaps a call still running.
        await Promise.allSettled(parts);
        const [hosts, , detections] = await Promise.all(parts);
        return { hosts, detections, unknownQids: await unknownQidsOf(run, page) };
      });
    },

    /**
     * Looks up every QID of the run's fetched pages that the cache does not know, in batches of 500:
     * the fewest KnowledgeBase calls the run can make. A round during the fetch pass names the pages
     * waiting for QIDs: it looks up theirs, earliest page first, in whole batches only unless it may
     * fill one in part, and says which of them now know all their QIDs (see knowledge-base-rounds.ts).
     */
    async lookupKnowledgeBase({ run, waiting, partial }: { run: RunRef } & Partial<KnowledgeBaseRound>): Promise<KnowledgeBaseRoundResult> {
      if (waiting === undefined) {
        const qids = await storeStep('read the QIDs of the fetched pages', () => store.stagedQids(run));
        const lookedUp = await lookUpUnknownQids(run, qids);
        return { lookedUp: lookedUp.length };
      }
      const unknownByPage = await storeStep('read the QIDs the waiting pages lack', () => store.unknownQidsOfPages(run, waiting));
      const planned = planLookup(unknownByPage, partial ?? false);
      const lookedUp = planned.qids.length > 0 ? await lookUpUnknownQids(run, planned.qids) : [];
      return { lookedUp: lookedUp.length, known: planned.known, unknownQids: planned.unknownQids };
    },

    /**
     * Maps a staged page to assets and findings and uploads them to the store, where they wait for the
     * run's commit. Spends no Qualys call (but for a QID the cache still lacks), so a retry after a
     * store outage costs nothing of the subscription's budget.
     */
    async uploadPage({ run, page }: PageRef): Promise<PageMapped> {
      const staged = await storeStep('read the staged page', () => readStagedPage(run, page));
      const unknown = await lookUpUnknownQids(run, staged.qids);
      return storeStep('map and upload the page', async () => {
        const knowledgeBase = await store.readKnowledgeBase(run.connection, staged.qids);
        const mapping = pageMapping(run.connection, run.startedAt, staged.hosts, staged.hostAssets, knowledgeBase, unreadHosts(staged.rejected));
        const rejected = [...staged.rejected.values()].flat();
        await store.uploadPage(run, page, mapping, Context.current().info.attempt, rejected);
        const { hostsKept, ...counts } = mapping.counts();
        return {
          ...counts,
          knowledgeBaseLookups: unknown.length,
          ...(rejected.length > 0 ? { rejectedRecords: rejected.length, hostsKept } : {}),
        };
      });
    },

    /** Commits the run in one store transaction (see src/store/commit.ts); a retry returns the same result. */
    async commitRun(input: {
      run: RunRef;
      totals: RunTotals;
      timings: RunTimings;
      policy: CommitPolicy;
      /** Qualys' time at the run's first call; the run's start by the workflow's clock when unknown. */
      watermark?: string;
      plan?: RunPlan;
      /** The largest share of the records read that may have been set aside as unreadable (absent in older runs: the default). */
      maxRejectedShare?: number;
    }): Promise<CommitResult> {
      return storeStep('commit', async () => {
        const { run, totals, timings } = input;
        await checkRejectedShare(run, input.maxRejectedShare ?? DEFAULT_MAX_REJECTED_SHARE);
        const calls = summariseCalls(await store.readCalls(run));
        const committedAt = now().toISOString();
        return store.commitRun(
          run,
          {
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
            watermark: input.watermark ?? run.startedAt,
            plan: input.plan ?? { mode: 'full', reason: 'a full run' },
          },
          input.policy,
        );
      });
    },

    /**
     * Ends a run that will not commit (cancelled or failed): its staging is cleared and the runs table
     * says why it ended and how many Qualys calls it spent.
     */
    async endRun(input: { run: RunRef; outcome: 'cancelled' | 'failed'; reason: string }): Promise<void> {
      await storeStep('clear the run', async () => {
        const calls = summariseCalls(await store.readCalls(input.run));
        // The reason quotes a failure message: masked again, whatever step it came from.
        const reason = masker.mask(input.reason);
        await store.endRun(input.run, input.outcome, reason, { outcome: input.outcome, reason, apiCalls: calls });
      });
    },
  };
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;

/** Qualys' DATETIME as an ISO 8601 instant; undefined when it is missing or not a time. */
function isoTime(value: string | undefined): string | undefined {
  const ms = value === undefined ? NaN : Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** What the cache keeps of a KnowledgeBase entry: what maps its QID to CVEs and what tells an entry Qualys changed. */
function toCacheEntry(vuln: KnowledgeBaseVuln): KnowledgeBaseEntry {
  return { qid: vuln.qid, cves: vuln.cves, severity: vuln.severity, title: vuln.title, lastServiceModified: vuln.lastServiceModified };
}

const ANSWER_PARTS: readonly AnswerPart[] = ['hosts', 'hostAssets', 'detections'];

/** A page's rejected records, by the answer (part) they were in. */
type RejectedByPart = ReadonlyMap<AnswerPart, readonly RejectedRecordRow[]>;

/** The call's options with a taker of the records that cannot be read: they are collected, to be staged with the part. */
function rejectedCollector(call: QualysCallOptions): { call: QualysCallOptions; records: RejectedRecordRow[] } {
  const records: RejectedRecordRow[] = [];
  return { records, call: { ...call, onRejectedRecord: (endpoint, record) => records.push({ api: endpoint, ...record }) } };
}

/** The hosts a page's rejected records name, and the answers that held one naming none (see `pageMapping`). */
function unreadHosts(rejected: RejectedByPart): UnreadHosts {
  const ids = new Set<string>();
  const unnamedIn = new Set<AnswerPart>();
  for (const [part, records] of rejected) {
    for (const record of records) {
      if (record.hostId !== undefined) ids.add(record.hostId);
      else unnamedIn.add(part);
    }
  }
  return { ids, unnamedIn };
}

/** What a step's heartbeats say it is doing (the Web UI shows the last one of a pending activity). */
type HeartbeatProgress = { qualysCalls: number; lastEndpoint?: string } | { store: string };

/** How often a step heartbeats at most: the worker sends them on, throttled, and learns of a cancellation. */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * Heartbeats while `body` runs, so a long step is told apart from one whose worker died (and is not
 * retried while it still runs), and a cancelled run's step learns of it within seconds.
 */
async function withHeartbeats<T>(context: Context, progress: () => HeartbeatProgress, body: () => Promise<T>): Promise<T> {
  const timeoutMs = context.info.heartbeatTimeoutMs;
  if (!timeoutMs) return body();
  context.heartbeat(progress());
  const timer = setInterval(() => context.heartbeat(progress()), Math.min(HEARTBEAT_EVERY_MS, timeoutMs / 3));
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}
