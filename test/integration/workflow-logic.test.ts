import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createLockActivities, type LockActivities } from '../../src/activities/lock-activities';
import type { SyncActivities } from '../../src/activities/sync-activities';
import type { FailureType, RateLimitWait } from '../../src/contracts/failure-table';
import type { DetectionsFetched, PageMapped, PageRange, RunTimings, RunTotals } from '../../src/contracts/run';
import { untracedWorkerOptions } from '../../src/telemetry/tracing';
import { PROJECT_SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import type { KnowledgeBaseRound } from '../../src/contracts/knowledge-base-lookup';
import { progressQuery, type SyncProgress } from '../../src/workflows/progress';
import type { CompletedSync, SyncResult } from '../../src/workflows/sync-result';
import type { SyncContinuation } from '../../src/workflows/legacy-continuation';
import type { RunState } from '../../src/workflows/run-state';

// The workflow's own logic — page lanes, rate-limit waits on durable timers, retries that run out,
// cancellation, continue-as-new — on the real Temporal dev server with stub activities: each test runs in
// seconds. The activities are stubs on purpose (these tests are about the workflow's branching); the other
// integration tests run the real activities against the simulator and PostgreSQL.

/** What a test's stub activities do for one run; every run of a test has a connection of its own. */
interface Scenario {
  pages: number;
  /** The subscription's concurrency limit validateCredentials reports. */
  concurrencyLimit?: number;
  fetch?: (page: PageRange, attempt: number) => Promise<DetectionsFetched>;
  apply?: (page: PageRange, attempt: number) => Promise<PageMapped>;
  /** Which of the waiting pages a KnowledgeBase round completes; by default all of them. */
  round?: (round: KnowledgeBaseRound) => number[];
  /**
   * Every step in the order it started or ended, e.g. `fetch 2`, `apply 2`, `lookup` (after the fetch
   * pass, all QIDs), `round 1,4` (the waiting pages 1 and 4; `round 1,4 partial` when it may fill a batch in part),
   * `commit`, `end failed`.
   */
  steps: string[];
  committed?: { totals: RunTotals; timings: RunTimings };
  ended?: { outcome: string; reason: string };
  fetchesInFlight: number;
  mostFetchesInFlight: number;
}

const scenarios = new Map<string, Scenario>();

// The stubs fail on purpose: the worker's warnings about it would drown the test output.
Runtime.install({ logger: new DefaultLogger('ERROR') });

function scenarioOf(connection: string): Scenario {
  const scenario = scenarios.get(connection);
  if (!scenario) throw new Error(`no scenario for connection ${connection}`);
  return scenario;
}

const mapped = (page: PageRange): PageMapped => ({
  assets: page.hosts,
  findings: page.hosts * 2,
  detections: page.hosts * 3,
  droppedNoCve: 0,
  droppedUnknownQid: 0,
  knowledgeBaseLookups: 0,
});

/** The stub activities: each does what its run's scenario says and records it. */
const stubActivities = {
  async validateCredentials({ connection }) {
    scenarioOf(connection).steps.push('validate');
    return { apiUrl: 'https://qualys.invalid', username: 'stub', concurrencyLimit: scenarioOf(connection).concurrencyLimit, qualysTime: '2026-01-01T00:00:00.000Z' };
  },
  async refreshKnowledgeBase() {
    return { refreshed: 0 };
  },
  async enumerateAssets({ run }) {
    const scenario = scenarioOf(run.connection);
    scenario.steps.push('enumerate');
    const pages = Array.from({ length: scenario.pages }, (_, index) => ({ index, idMin: index * 10 + 1, idMax: index * 10 + 10, hosts: 10 }));
    return { hostCount: pages.length * 10, hostsAsked: pages.length * 10, pages, plan: { mode: 'full', reason: 'a full run' } };
  },
  async fetchDetections({ run, page }) {
    const scenario = scenarioOf(run.connection);
    scenario.steps.push(`fetch ${page.index}`);
    scenario.fetchesInFlight += 1;
    scenario.mostFetchesInFlight = Math.max(scenario.mostFetchesInFlight, scenario.fetchesInFlight);
    try {
      return await (scenario.fetch?.(page, Context.current().info.attempt) ?? Promise.resolve({ hosts: page.hosts, detections: page.hosts * 3, unknownQids: 0 }));
    } finally {
      scenario.fetchesInFlight -= 1;
    }
  },
  async lookupKnowledgeBase({ run, waiting, partial }) {
    const scenario = scenarioOf(run.connection);
    if (waiting === undefined) {
      scenario.steps.push('lookup');
      return { lookedUp: 1 };
    }
    scenario.steps.push(`round ${waiting.join(',')}${partial ? ' partial' : ''}`);
    const known = scenario.round && !partial ? scenario.round({ waiting, partial: false }) : waiting;
    return { lookedUp: known.length, known, unknownQids: waiting.length - known.length };
  },
  async uploadPage({ run, page }) {
    const scenario = scenarioOf(run.connection);
    scenario.steps.push(`apply ${page.index}`);
    return (await scenario.apply?.(page, Context.current().info.attempt)) ?? mapped(page);
  },
  async commitRun({ run, totals, timings }) {
    const scenario = scenarioOf(run.connection);
    scenario.steps.push('commit');
    scenario.committed = { totals, timings };
    const changes = { assetsAdded: totals.assets, assetsReturned: 0, assetsRemoved: 0, assetsDeleted: 0, findingsOpened: totals.findings, findingsReopened: 0, findingsFixed: 0, findingsNoLongerReported: 0, findingsAssetRemoved: 0 };
    return { runKey: run.runKey, changes, state: { assetsActive: totals.assets, assetsRemoved: 0, findingsOpen: totals.findings, findingsFixed: 0 } };
  },
  async endRun({ run, outcome, reason }) {
    const scenario = scenarioOf(run.connection);
    scenario.steps.push(`end ${outcome}`);
    scenario.ended = { outcome, reason };
  },
  // The lock's own activity reads Temporal, not Qualys or the store: the real one.
  ...createLockActivities(),
} satisfies SyncActivities & LockActivities;

/** A typed failure as the activities raise it (see src/activities/failures.ts). */
function failure(type: FailureType, message: string, details?: RateLimitWait): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: type !== 'QualysServerError', details: details ? [details] : undefined });
}

/** Resolves when `test` holds, polling the stubs' records (they change as the worker runs the steps). */
async function until(test: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; !test(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
  }
}

/** Waits for a cancellation of the running stub step and reports it as the SDK does. */
async function untilCancelled(): Promise<never> {
  const context = Context.current();
  const beat = setInterval(() => context.heartbeat(), 100);
  try {
    await context.cancelled;
  } finally {
    clearInterval(beat);
  }
  throw new CancelledFailure('cancelled');
}

describe('the workflow logic, with stub activities', () => {
  const taskQueue = `workflow-logic-${randomUUID()}`;
  // The dev server the test harness started for every integration test.
  const env = withStubWorker(taskQueue, () =>
    TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEST_TEMPORAL_ADDRESS, namespace: process.env.TEST_TEMPORAL_NAMESPACE }),
  );

  /** A connection of its own for a test, and what its stub activities do. */
  function newScenario(scenario: Partial<Scenario> & { pages: number }): { connection: string; scenario: Scenario } {
    const connection = `wf-${randomUUID()}`;
    const full: Scenario = { steps: [], fetchesInFlight: 0, mostFetchesInFlight: 0, ...scenario };
    scenarios.set(connection, full);
    return { connection, scenario: full };
  }

  function start(scenario: Partial<Scenario> & { pages: number }, input: Record<string, unknown> = {}): { handle: Promise<WorkflowHandle>; scenario: Scenario } {
    const { connection, scenario: full } = newScenario(scenario);
    const handle = env().client.workflow.start('qualysSync', { taskQueue, workflowId: `sync-${connection}`, args: [{ connection, ...input }] });
    return { handle, scenario: full };
  }

  it('fetches pages in lanes of the calls allowed plus one, applies pages whose QIDs are known at once and the others as a KnowledgeBase round completes them, while fetching goes on', async () => {
    const waiting = new Set([1, 4]);
    let lanesFull = false;
    const { handle, scenario } = start({
      pages: 7,
      concurrencyLimit: 3, // two calls per API, so three pages at once
      fetch: async (page) => {
        // Each fetch holds its lane until three are in flight (or a moment has passed): the most seen
        // at once is then the lanes the workflow runs, never more.
        await until(() => (lanesFull ||= scenario.fetchesInFlight >= 3) || page.index >= 5, 'three fetches run at once').catch(() => undefined);
        // The last page is fetched only once the pages that waited for QIDs are applied.
        if (page.index === 6) {
          await until(() => scenario.steps.includes('apply 1') && scenario.steps.includes('apply 4'), 'the waiting pages are applied');
          scenario.steps.push('fetch 6 ends');
        }
        // As many unknown QIDs as a whole KnowledgeBase batch: worth a round at once.
        return { hosts: page.hosts, detections: 30, unknownQids: waiting.has(page.index) ? 500 : 0 };
      },
    });
    const result = (await (await handle).result()) as CompletedSync;

    expect(scenario.mostFetchesInFlight).toBe(3);
    for (const index of [1, 4]) {
      const round = scenario.steps.findIndex((s) => /^round /.test(s) && s.slice(6).split(',').includes(String(index)));
      expect(scenario.steps.indexOf(`fetch ${index}`)).toBeLessThan(round);
      expect(round).toBeLessThan(scenario.steps.indexOf(`apply ${index}`));
      expect(scenario.steps.indexOf(`apply ${index}`)).toBeLessThan(scenario.steps.indexOf('fetch 6 ends'));
    }
    // No page waits when the fetch pass ends: no final lookup, and the commit follows at once.
    expect(scenario.steps.filter((s) => s === 'lookup' || / partial$/.test(s))).toEqual([]);
    expect(scenario.steps.at(-1)).toBe('commit');
    for (let index = 0; index < 7; index++) expect(scenario.steps.filter((s) => s === `fetch ${index}` || s === `apply ${index}`)).toHaveLength(2);
    expect(result).toMatchObject({ outcome: 'completed', totals: { pages: 7, assets: 70, findings: 140, detections: 210, hosts: 70 } });
    expect(scenario.committed?.totals).toEqual(result.totals);
  });

  it('keeps pages whose QIDs no round completed waiting for the final lookup, then applies them and commits', async () => {
    const waiting = new Set([1, 4]);
    const { handle, scenario } = start({
      pages: 7,
      concurrencyLimit: 3,
      fetch: async (page) => ({ hosts: page.hosts, detections: 30, unknownQids: waiting.has(page.index) ? 300 : 0 }),
      // Rounds complete nothing (too few distinct QIDs for a whole batch; 7 pages leave no budget for a part-filled one).
      round: () => [],
    });
    const result = (await (await handle).result()) as CompletedSync;

    const final = scenario.steps.indexOf('round 1,4 partial');
    expect(final).toBeGreaterThan(0);
    for (let index = 0; index < 7; index++) expect(scenario.steps.indexOf(`fetch ${index}`)).toBeLessThan(final);
    for (const index of [0, 2, 3, 5, 6]) expect(scenario.steps.indexOf(`apply ${index}`)).toBeLessThan(final);
    // The pages that waited are applied after the final lookup (side by side, so in either order), then the commit.
    expect(scenario.steps.slice(final + 1, -1).sort()).toEqual(['apply 1', 'apply 4']);
    // One round during the fetch pass (once 600 unknown QIDs might make a whole batch); it completed nothing.
    expect(scenario.steps.filter((s) => /^round /.test(s))).toEqual(['round 1,4', 'round 1,4 partial']);
    expect(scenario.steps.at(-1)).toBe('commit');
    expect(result).toMatchObject({ outcome: 'completed', totals: { pages: 7, assets: 70 } });
  });

  it('waits out a long Qualys rate limit on a durable timer that holds every lane, then tries the step again', async () => {
    let asked = false;
    let progressDuringWait: SyncProgress | undefined;
    const { handle: started, scenario } = start({
      pages: 4,
      concurrencyLimit: 3,
      fetch: async (page) => {
        if (page.index === 1 && !asked) {
          asked = true;
          throw failure('QualysRateLimitWait', 'rate limit reached', { waitSeconds: 2, endpoint: '/api/2.0/fo/asset/host/vm/detection/' });
        }
        return { hosts: page.hosts, detections: 30, unknownQids: 0 };
      },
    });
    const handle = await started;
    await until(() => asked, 'the rate limit is hit');
    for (let i = 0; i < 50 && !progressDuringWait?.rateLimitWait; i++) progressDuringWait = await handle.query(progressQuery);
    const result = (await handle.result()) as CompletedSync;

    expect(progressDuringWait?.rateLimitWait).toMatchObject({ endpoint: '/api/2.0/fo/asset/host/vm/detection/' });
    expect(result.totals.pages).toBe(4);
    expect(scenario.steps.filter((s) => s === 'fetch 1')).toHaveLength(2);
    expect(scenario.committed?.timings.rateLimitTimerSeconds).toBeGreaterThan(0);
    // While the timer ran, no lane started a Qualys step: the gate holds them all.
    const events = (await handle.fetchHistory()).events ?? [];
    const timerAt = events.findIndex((e) => e.timerStartedEventAttributes);
    const firedAt = events.findIndex((e) => e.timerFiredEventAttributes);
    expect(timerAt).toBeGreaterThan(0);
    expect(firedAt).toBeGreaterThan(timerAt);
    expect(events.slice(timerAt, firedAt).filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
    expect(new TextDecoder().decode(events[timerAt].userMetadata?.summary?.data ?? new Uint8Array())).toMatch(/Qualys rate limit: waiting until /);
  });

  it('fails a run whose step kept failing for the whole retry window with QualysUnavailable or StoreUnavailable, and cleans up', async () => {
    const qualysDown = start({ pages: 2, fetch: () => Promise.reject(failure('QualysServerError', 'HTTP 503 from Qualys')) }, { retryWindowMinutes: 0.1 });
    const storeDown = start({ pages: 2, apply: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) }, { retryWindowMinutes: 0.1 });
    const [qualys, store] = await Promise.all(
      [qualysDown, storeDown].map(async ({ handle }) => (await handle).result().then(() => undefined, (e: unknown) => e)),
    );

    for (const [err, type, last] of [
      [qualys, 'QualysUnavailable', /last error QualysServerError: HTTP 503 from Qualys/],
      [store, 'StoreUnavailable', /last error Error: connect ECONNREFUSED/],
    ] as const) {
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause).toMatchObject({ type, nonRetryable: true });
      expect(cause?.message).toMatch(/for the run's whole retry window of 6 s|for the run's whole retry window of 0\.1 min/);
      expect(cause?.message).toMatch(last);
    }
    for (const { scenario } of [qualysDown, storeDown]) {
      expect(scenario.steps).not.toContain('commit');
      expect(scenario.ended).toMatchObject({ outcome: 'failed' });
    }
    expect(qualysDown.scenario.ended?.reason).toMatch(/^QualysUnavailable: /);
    expect(storeDown.scenario.ended?.reason).toMatch(/^StoreUnavailable: /);
  });

  it('cancels the other lanes when a page fails for good, waits for them, and ends with the failure that caused it', async () => {
    const { handle, scenario } = start({
      pages: 3,
      concurrencyLimit: 4, // three calls per API: every page at once
      fetch: async (page) => {
        if (page.index !== 1) return untilCancelled();
        await until(() => scenario.fetchesInFlight === 3, 'the other lanes are busy');
        throw failure('StagedPageMissing', 'page 2 is not staged');
      },
    });
    const err = await (await handle).result().then(() => undefined, (e: unknown) => e);

    expect((err as WorkflowFailedError).cause?.cause).toMatchObject({ type: 'StagedPageMissing' });
    // Cleanup ran after every sibling step had stopped, never under one still running.
    expect(scenario.steps.at(-1)).toBe('end failed');
    expect(scenario.fetchesInFlight).toBe(0);
    expect(scenario.ended?.reason).toMatch(/^StagedPageMissing: page 2 is not staged/);
  });

  it('a cancelled run stops its steps, commits nothing, cleans up and frees its connection', async () => {
    const { handle: started, scenario } = start({ pages: 2, fetch: () => untilCancelled() });
    const handle = await started;
    await until(() => scenario.fetchesInFlight > 0, 'a page is being fetched');
    await handle.cancel();
    const err = await handle.result().then(() => undefined, (e: unknown) => e);

    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(scenario.steps).not.toContain('commit');
    expect(scenario.steps.at(-1)).toBe('end cancelled');
    expect(scenario.fetchesInFlight).toBe(0);
    const progress = await handle.query(progressQuery);
    expect(progress).toMatchObject({ phase: 'cancelled' });
    expect(progress.ended).toMatch(/^cancelled during "fetching pages"/);
    // The connection is free again: a new run of it completes.
    const connection = (await handle.describe()).workflowId.replace(/^sync-/, '');
    scenario.fetch = undefined;
    const again = await env().client.workflow.execute('qualysSync', { taskQueue, workflowId: `again-${connection}`, args: [{ connection }] });
    expect(again).toMatchObject({ outcome: 'completed' });
  });

  it('resumes a run continued before the run state from the continuation it carries: in its fetch pass, applying pages as they arrive', async () => {
    const { connection, scenario } = newScenario({ pages: 4 });
    // As a run continued as new before this change carries it: two pages fetched, page 0 applied, page 1 waiting.
    const pages = Array.from({ length: 4 }, (_, index) => ({ index, idMin: index * 10 + 1, idMax: index * 10 + 10, hosts: 10 }));
    const continuation: SyncContinuation = {
      run: { connection, runKey: `legacy-${connection}`, workflowId: `legacy-${connection}`, startedAt: '2026-12-01T00:00:00.000Z' },
      pages,
      pass: 'fetch',
      nextPage: 2,
      pagesFetched: 2,
      pageConcurrency: 2,
      fetchLanes: 3,
      totals: { hosts: 40, hostsAsked: 40, assets: 10, detections: 30, findings: 20, droppedNoCve: 0, droppedUnknownQid: 0, pages: 1, knowledgeBaseLookups: 0 },
      timings: { rateLimitTimerSeconds: 5, continuedAsNew: 1 },
      plan: { mode: 'full', reason: 'a full run' },
      watermark: '2026-12-01T00:00:00.000Z',
      waitingForQids: [1],
    };
    const result = (await env().client.workflow.execute('qualysSync', { taskQueue, workflowId: `legacy-${connection}`, args: [{ connection }, continuation] })) as CompletedSync;

    // Pages 2 and 3 fetched (and applied in their lanes: their QIDs are known), then the lookup, then page 1.
    expect(scenario.steps.slice(0, 4).sort()).toEqual(['apply 2', 'apply 3', 'fetch 2', 'fetch 3']);
    expect(scenario.steps.slice(4)).toEqual(['lookup', 'apply 1', 'commit']);
    expect(result).toMatchObject({ outcome: 'completed', runKey: `legacy-${connection}`, mode: 'full', totals: { pages: 4, assets: 40, knowledgeBaseLookups: 1 } });
    expect(scenario.committed?.timings).toEqual({ rateLimitTimerSeconds: 5, continuedAsNew: 1 });
  });

  it('resumes a run continued before pages followed the limit or were applied as they arrive: it applies every page left', async () => {
    const { connection, scenario } = newScenario({ pages: 3 });
    const pages = Array.from({ length: 3 }, (_, index) => ({ index, idMin: index * 10 + 1, idMax: index * 10 + 10, hosts: 10 }));
    // No fetchLanes, no waitingForQids, no plan: what such runs carried.
    const continuation: SyncContinuation = {
      run: { connection, runKey: `v1-${connection}`, workflowId: `v1-${connection}`, startedAt: '2026-12-01T00:00:00.000Z' },
      pages,
      pass: 'upload',
      nextPage: 1,
      pagesFetched: 3,
      pageConcurrency: 1,
      totals: { hosts: 30, assets: 10, detections: 30, findings: 20, droppedNoCve: 0, droppedUnknownQid: 0, pages: 1, knowledgeBaseLookups: 4 },
      timings: { rateLimitTimerSeconds: 0, continuedAsNew: 2 },
    };
    const result = (await env().client.workflow.execute('qualysSync', { taskQueue, workflowId: `v1-${connection}`, args: [{ connection }, continuation] })) as CompletedSync;

    expect(scenario.steps).toEqual(['apply 1', 'apply 2', 'commit']);
    expect(result).toMatchObject({ outcome: 'completed', mode: 'full', totals: { pages: 3, assets: 30, knowledgeBaseLookups: 4 } });
  });

  it('turns a second run of a connection away before it spends a call', async () => {
    const { handle: started, scenario } = start({ pages: 1, fetch: () => untilCancelled() });
    const first = await started;
    await until(() => scenario.fetchesInFlight > 0, 'the first run is fetching');
    const connection = first.workflowId.replace(/^sync-/, '');
    const second = (await env().client.workflow.execute('qualysSync', { taskQueue, workflowId: `second-${connection}`, args: [{ connection }] })) as SyncResult;
    expect(second).toMatchObject({ outcome: 'skipped', alreadyRunning: first.workflowId });
    expect(scenario.steps.filter((s) => s === 'validate')).toHaveLength(1);
    await first.cancel();
    await first.result().catch(() => undefined);
  });
});

describe('continue-as-new, with stub activities', () => {
  const taskQueue = `workflow-can-${randomUUID()}`;
  // A server of its own (the pinned CLI), whose continue-as-new threshold a handful of pages reaches.
  const env = withStubWorker(taskQueue, () =>
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: requiredEnv('TEST_TEMPORAL_CLI') },
        ui: false,
        log: { format: 'pretty', level: 'error' },
        searchAttributes: [...PROJECT_SEARCH_ATTRIBUTES],
        extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=40'],
      },
    }),
  );

  it('continues as new with its cursors, counters and waiting pages, resumes where it stopped, and does each page once', async () => {
    const connection = `wf-${randomUUID()}`;
    const waiting = new Set([0, 9]);
    const scenario: Scenario = {
      pages: 12,
      concurrencyLimit: 2,
      steps: [],
      fetchesInFlight: 0,
      mostFetchesInFlight: 0,
      fetch: async (page) => ({ hosts: page.hosts, detections: 30, unknownQids: waiting.has(page.index) ? 250 : 0 }),
      // Page 0 lacks QIDs that only with page 9's may make a whole batch: the round after page 9 completes both.
      round: ({ waiting: pages }) => (pages.includes(9) ? pages : []),
    };
    scenarios.set(connection, scenario);
    const handle = await env().client.workflow.start('qualysSync', { taskQueue, workflowId: `sync-${connection}`, args: [{ connection }] });
    const result = (await handle.result()) as CompletedSync;

    expect(scenario.committed?.timings.continuedAsNew).toBeGreaterThanOrEqual(1);
    expect(scenario.steps.filter((s) => s === 'enumerate')).toHaveLength(1);
    for (let index = 0; index < 12; index++) {
      expect(scenario.steps.filter((s) => s === `fetch ${index}`)).toHaveLength(1);
      expect(scenario.steps.filter((s) => s === `apply ${index}`)).toHaveLength(1);
    }
    // The first execution continued as new with page 0 waiting; the round after page 9 completed it.
    const first = await env().client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
    const continued = first.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes;
    const carriedByFirst = JSON.parse(new TextDecoder().decode(continued?.input?.payloads?.[1]?.data ?? new Uint8Array())) as RunState;
    expect(carriedByFirst.waitingForQids).toEqual([0]);
    // Page 0 alone could not make a whole batch, so no round ran for it yet: its count travels on.
    expect(carriedByFirst.knowledgeBaseRounds).toMatchObject({ partialCallsLeft: 0, pagesSinceRound: 1, unknownQidsSinceRound: 250 });
    expect(scenario.steps.indexOf('apply 0')).toBeGreaterThan(scenario.steps.indexOf('round 0,9'));
    expect(scenario.steps.filter((s) => s === 'lookup' || / partial$/.test(s))).toEqual([]);
    expect(scenario.steps.at(-1)).toBe('commit');
    expect(result).toMatchObject({ outcome: 'completed', totals: { pages: 12, assets: 120, hosts: 120 } });
    // Each continued execution started from the run state the one before carried, as it is.
    const carried: RunState[] = [];
    for await (const execution of env().client.workflow.list({ query: `WorkflowId = "sync-${connection}"` })) {
      const history = await env().client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[1];
      if (payload) carried.push(env().client.options.loadedDataConverter.payloadConverter.fromPayload<RunState>(payload));
    }
    expect(carried).toHaveLength(scenario.committed?.timings.continuedAsNew ?? 0);
    for (const state of carried) {
      expect(state).toMatchObject({ stateVersion: 1, run: { runKey: result.runKey, connection }, pages: expect.any(Array), appliesAsFetched: true });
      expect(state.pages).toHaveLength(12);
      expect(state.nextPage).toBeLessThanOrEqual(12);
    }
    expect(carried.map((s) => s.timings.continuedAsNew).sort((a, b) => a - b)).toEqual(carried.map((_, i) => i + 1));
  });
});

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: integration tests need the jest global setup (run them with \`npm test\`)`);
  return value;
}

/**
 * For the enclosing describe: the environment `create` gives, with a worker of the real workflow and the
 * stub activities on `taskQueue`, both stopped after its tests.
 */
function withStubWorker(taskQueue: string, create: () => Promise<TestWorkflowEnvironment>): () => TestWorkflowEnvironment {
  let env: TestWorkflowEnvironment | undefined;
  let stopWorker: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    env = await create();
    stopWorker = await runStubWorker(env, taskQueue);
  });
  afterAll(async () => {
    await stopWorker?.();
    await env?.teardown();
  });
  return () => {
    if (!env) throw new Error('the test environment is not started');
    return env;
  };
}

/** Runs a worker of the real workflow and the stub activities on `env`; returns how to stop it. */
async function runStubWorker(env: TestWorkflowEnvironment, taskQueue: string): Promise<() => Promise<void>> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: stubActivities,
    workflowBundle: { codePath: requiredEnv('TEST_WORKFLOW_BUNDLE') },
    ...untracedWorkerOptions(),
    // Cancellations reach a stub step within a fraction of a second.
    maxHeartbeatThrottleInterval: '100ms',
    shutdownGraceTime: '2s',
  });
  const running = worker.run();
  return async () => {
    worker.shutdown();
    await running;
  };
}
