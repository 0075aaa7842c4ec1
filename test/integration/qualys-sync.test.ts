import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { RunningSimulator } from '../../simulator';
import { ExposureStore } from '../../src/store/exposure-store';
import { freshDatabase } from '../harness/database';
import { modelSchemaPath } from '../../src/model/json-schema';
import { normaliseMac } from '../../src/model/map-qualys';
import { progressQuery, type SyncProgress } from '../../src/workflows/progress';
import { historyAsText } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { expectNoSecretAnywhere, expectedFrom, runSync, stateWithoutSeenTimes } from '../harness/sync-run';

/** Calls per endpoint as the simulator counted them, without the endpoints never called. */
function simulatorCalls(simulator: RunningSimulator): Record<string, number> {
  return Object.fromEntries(Object.entries(simulator.stats().calls).filter(([, n]) => n > 0));
}

describe('qualysSync: the durable connector run (real dev server, real worker, the simulator)', () => {
  const testEnvironment = useTestEnvironment();
  const simulator = testEnvironment.simulator;
  /** The steps a run scheduled, in order. */
  const stepsOf = async (workflowId: string): Promise<string[]> => {
    const events = (await testEnvironment.env().client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    return events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? '').filter(Boolean);
  };

  it('happy path: the output equals the ground truth, and the report matches what Qualys served', async () => {
    const env = testEnvironment.env();
    const sim = await simulator({ hosts: 120, seed: 7 });
    const run = await runSync(env, sim, { connection: 'e2e', input: { pageSize: 50 } });
    const truth = sim.truth();
    const expected = expectedFrom(truth, 'e2e');

    // Every asset, with every contracted field.
    expect(run.assets.map((a) => a.qualysHostId).sort()).toEqual(truth.hosts.map((h) => h.id).sort());
    for (const host of truth.hosts) {
      const asset = run.assets.find((a) => a.qualysHostId === host.id);
      expect(asset).toBeDefined();
      if (!asset) continue;
      expect(asset.key).toBe(`qualys:e2e:host:${host.id}`);
      expect(asset.fqdn).toBe(host.fqdn);
      expect(asset.netbiosName).toBe(host.netbios);
      expect(asset.operatingSystem).toBe(host.os);
      expect(asset.trackingMethod).toBe(host.trackingMethod);
      expect(asset.criticality.assetCriticalityScore).toBe(host.assetCriticalityScore);
      expect(asset.criticality.truRiskScore).toBe(host.truriskScore);
      if (host.ip) expect(asset.ipv4Addresses).toContain(host.ip);
      if (host.ipv6) expect(asset.ipv6Addresses).toContain(host.ipv6);
      // A cloud instance's MAC may be only in the HostAsset sourceInfo (realistic simulator profile).
      const macs = [...host.interfaces.map((i) => i.mac), host.cloudMacAddress].map(normaliseMac).filter((m): m is string => m !== undefined);
      expect([...asset.macAddresses].sort()).toEqual([...new Set(macs)].sort());
      const gateways = host.interfaces.map((i) => i.gateway).filter((g): g is string => Boolean(g));
      expect([...asset.gatewayAddresses].sort()).toEqual([...new Set(gateways)].sort());
    }

    // Every record fits the committed JSON Schema of the model.
    const schema = JSON.parse(readFileSync(modelSchemaPath(), 'utf8')) as { $defs: Record<string, object> };
    const ajv = new Ajv2020({ strict: false });
    const validAsset = ajv.compile(schema.$defs.Asset);
    const validFinding = ajv.compile(schema.$defs.Finding);
    expect(run.assets.filter((a) => !validAsset(a))).toEqual([]);
    expect(run.findings.filter((f) => !validFinding(f))).toEqual([]);

    // Exactly one finding per (asset, CVE), with its evidence; no-CVE detections counted, not lost.
    expect(run.findings.map((f) => f.key)).toEqual(expected.findingKeys);
    for (const finding of run.findings) {
      const host = truth.hosts.find((h) => h.id === finding.qualysHostId);
      const evidence = host?.detections.filter((d) => truth.knowledgeBase[d.qid]?.cves.includes(finding.cve)) ?? [];
      expect(finding.evidence.map((e) => e.qid).sort()).toEqual(evidence.map((d) => d.qid).sort());
    }
    expect(run.result.totals).toMatchObject({
      hosts: truth.hosts.length,
      detections: expected.detections,
      findings: expected.findingKeys.length,
      droppedNoCve: expected.droppedNoCve,
      droppedUnknownQid: 0,
      pages: 3,
    });

    // The report's figures are the simulator's own call counts.
    expect(run.report.totals).toEqual(run.result.totals);
    expect(run.report.apiCalls.callsByEndpoint).toEqual(simulatorCalls(sim));
    expect(run.report.apiCalls.total).toBe(Object.values(simulatorCalls(sim)).reduce((a, b) => a + b, 0));
    expect(run.report.apiCalls.failuresByCode).toEqual({});
    // The fewest KnowledgeBase calls: the credentials probe, then every new QID of the run in batches of 500.
    const distinctQids = new Set(truth.hosts.flatMap((h) => h.detections.map((d) => d.qid)));
    expect(sim.stats().calls.knowledgeBase).toBe(1 + Math.ceil(distinctQids.size / 500));

    // The Web UI and `temporal workflow show` see each step as an activity with a summary.
    const history = await env.client.workflow.getHandle(run.workflowId).fetchHistory();
    const scheduled = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    expect(new Set(scheduled)).toEqual(
      new Set([
        'validateCredentials',
        'refreshKnowledgeBase',
        'enumerateAssets',
        'fetchDetections',
        'lookupKnowledgeBase',
        'uploadPage',
        'commitRun',
      ]),
    );
    await expectNoSecretAnywhere(env, sim.password, run.workflowId, run.databaseUrl);
  });

  it('per page: fetch → apply as soon as the cache knows its QIDs; a first run\'s pages wait for the KnowledgeBase, a later run\'s do not', async () => {
    const env = testEnvironment.env();
    const sim = await simulator({ hosts: 100, seed: 12 });
    const databaseUrl = await freshDatabase();
    /** Per page of the run, whether its upload was scheduled before the run's first KnowledgeBase lookup (if it made one). */
    const appliedAsFetched = async (workflowId: string): Promise<boolean[]> => {
      const names = await stepsOf(workflowId);
      const lookup = names.indexOf('lookupKnowledgeBase');
      return names.flatMap((name, i) => (name === 'uploadPage' ? [lookup < 0 || i < lookup] : []));
    };
    const first = await runSync(env, sim, { connection: 'stream', databaseUrl, input: { pageSize: 20 } });
    expect(await appliedAsFetched(first.workflowId)).toEqual([false, false, false, false, false]);
    const second = await runSync(env, sim, { connection: 'stream', databaseUrl, input: { pageSize: 20, mode: 'full' } });
    expect(await appliedAsFetched(second.workflowId)).toEqual([true, true, true, true, true]);
    expect(second.result.changes).toMatchObject({ assetsAdded: 0, assetsRemoved: 0, findingsOpened: 0, findingsNoLongerReported: 0 });
    expect(stateWithoutSeenTimes(second)).toEqual(stateWithoutSeenTimes(first));
  });

  it('a first run\'s KnowledgeBase rounds apply waiting pages before the last page is fetched, within 1 % of the fewest calls', async () => {
    const env = testEnvironment.env();
    // 32 pages: the fewest calls (101) leave room for one part-filled KnowledgeBase batch before the fetch pass ends.
    const sim = await simulator({ hosts: 64, seed: 13 });
    const databaseUrl = await freshDatabase();
    const first = await runSync(env, sim, { connection: 'rounds', databaseUrl, input: { pageSize: 2 } });
    const steps = await stepsOf(first.workflowId);
    const lastFetch = steps.lastIndexOf('fetchDetections');
    const applied = steps.slice(0, lastFetch).filter((s) => s === 'uploadPage').length;
    expect(steps.indexOf('lookupKnowledgeBase')).toBeLessThan(lastFetch);
    // The round at half the pages completes the waiting ones; how many of their uploads start before the
    // other lanes have fetched the rest depends on timing, but the first starts right after the round.
    expect(applied).toBeGreaterThanOrEqual(1);
    expect(steps.filter((s) => s === 'uploadPage')).toHaveLength(32);
    const calls = Object.values(sim.stats().calls).reduce((a, b) => a + b, 0);
    const fewest = 3 + 1 + 3 * 32 + Math.ceil(first.result.totals.knowledgeBaseLookups / 500);
    expect(calls).toBeLessThanOrEqual(Math.floor(fewest * 1.01));
    // Every page was mapped with its QIDs known: a second run of the estate changes nothing.
    const second = await runSync(env, sim, { connection: 'rounds', databaseUrl, input: { pageSize: 2, mode: 'full' } });
    expect(second.result.changes).toMatchObject({ assetsAdded: 0, assetsRemoved: 0, findingsOpened: 0, findingsFixed: 0, findingsNoLongerReported: 0 });
    expect(first.result.totals.droppedUnknownQid).toBe(second.result.totals.droppedUnknownQid);
    expect(stateWithoutSeenTimes(second)).toEqual(stateWithoutSeenTimes(first));
  });

  it('store outage: the uploads fail for a while, then the run completes without one extra Qualys call', async () => {
    const env = testEnvironment.env();
    const clean = await simulator({ hosts: 60, seed: 11 });
    const cleanRun = await runSync(env, clean, { input: { pageSize: 20 } });

    const sim = await simulator({ hosts: 60, seed: 11 });
    let failuresLeft = 2;
    const run = await runSync(env, sim, {
      input: { pageSize: 20 },
      adjustDeps: (deps) => {
        // The real store, whose page uploads fail twice as a store that is down would.
        class FlakyStore extends ExposureStore {
          override async uploadPage(...args: Parameters<ExposureStore['uploadPage']>): Promise<void> {
            if (failuresLeft > 0) {
              failuresLeft -= 1;
              throw new Error('the exposure store is down (ECONNREFUSED)');
            }
            return super.uploadPage(...args);
          }
        }
        return { ...deps, store: new FlakyStore(deps.store.pool) };
      },
    });
    expect(failuresLeft).toBe(0);
    expect(simulatorCalls(sim)).toEqual(simulatorCalls(clean));
    expect(stateWithoutSeenTimes(run)).toEqual(stateWithoutSeenTimes(cleanRun));
    const history = await env.client.workflow.getHandle(run.workflowId).fetchHistory();
    // History keeps each step's last attempt: the uploads that met the outage (one twice, or two once:
    // pages are applied side by side) succeeded on a later attempt, two retries in all.
    const events = history.events ?? [];
    const uploads = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'uploadPage').map((e) => String(e.eventId)));
    const retries = events
      .map((e) => e.activityTaskStartedEventAttributes)
      .filter((started) => started && uploads.has(String(started.scheduledEventId)))
      .reduce((sum, started) => sum + (started?.attempt ?? 1) - 1, 0);
    expect(retries).toBe(2);
    await expectNoSecretAnywhere(env, sim.password, run.workflowId, run.databaseUrl);
  });

  it('limits: 1960 bursts and a long 1965 are waited out, the wait shows while it lasts, and calls never exceed the limit', async () => {
    const env = testEnvironment.env();
    const sim = await simulator({ hosts: 80, seed: 5, concurrencyLimit: 3, latencyMs: 20 });
    const truth = sim.truth();
    sim.setFaults([
      { endpoint: 'hostDetection', concurrencyLimitErrors: 3 },
      { endpoint: 'hostList', rateLimitErrors: 1, rateLimitWaitSeconds: 3 },
    ]);
    // Let the simulator's first calls (credentials, enumeration) pass before the faults bite.
    const seen: SyncProgress[] = [];
    const run = await runSync(env, sim, {
      input: { pageSize: 20, maxConcurrency: 8 },
      adjustDeps: (deps) => ({ ...deps, limits: { inlineRateLimitWaitMaxSeconds: 1, concurrencyRetrySeconds: 1 } }),
      whileRunning: async (handle) => {
        // Until the run ends, however long a loaded machine makes it (not a fixed number of polls).
        let ended = false;
        const ending = handle.result().then(
          () => (ended = true),
          () => (ended = true),
        );
        while (!ended && seen.at(-1)?.phase !== 'done') {
          try {
            seen.push(await handle.query(progressQuery));
          } catch {
            // not started yet
          }
          await Promise.race([ending, new Promise((r) => setTimeout(r, 100))]);
        }
      },
    });

    expect(run.findings.map((f) => f.key)).toEqual(expectedFrom(truth, 'sim').findingKeys);
    const stats = sim.stats();
    expect(stats.errorsServed['409/1960']).toBe(3);
    expect(stats.errorsServed['409/1965']).toBe(1);
    // Qualys counts concurrency per API: never more than two calls (three allowed, one kept free) on any.
    // The limit is what is asserted; how many calls the scheduler happened to overlap is luck.
    for (const peak of Object.values(stats.peakInFlightByEndpoint)) expect(peak).toBeLessThanOrEqual(2);
    expect(stats.peakInFlightByEndpoint.hostDetection).toBeGreaterThanOrEqual(1);
    expect(run.report.apiCalls.failuresByCode).toEqual({ '1960': 3, '1965': 1 });
    expect(run.report.waiting.rateLimitTimerSeconds).toBeGreaterThanOrEqual(2);

    // Two pages side by side: the subscription allows 3 calls at once, one slot stays free.
    expect(seen.find((p) => p.pagesTotal > 0)?.pageConcurrency).toBe(2);
    const waiting = seen.find((p) => p.rateLimitWait !== undefined);
    expect(waiting?.rateLimitWait?.until).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const history = await env.client.workflow.getHandle(run.workflowId).fetchHistory();
    const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
    expect(timers.length).toBe(1);
    // The Web UI names the timer as the failure table's wait entry says.
    expect(historyAsText(timers)).toMatch(/Qualys rate limit: waiting until \d{4}-/);
    await expectNoSecretAnywhere(env, sim.password, run.workflowId, run.databaseUrl);
  });

  it('idempotence: a second run gives the same current state, no duplicate keys, and asks the KnowledgeBase only what it learned', async () => {
    const env = testEnvironment.env();
    const sim = await simulator({ hosts: 50, seed: 21 });
    const first = await runSync(env, sim, { input: { pageSize: 25 } });
    sim.resetStats();
    const second = await runSync(env, sim, { input: { pageSize: 25 }, databaseUrl: first.databaseUrl });

    expect(stateWithoutSeenTimes(second)).toEqual(stateWithoutSeenTimes(first));
    expect(second.assets.map((a) => a.firstSeenAt)).toEqual(first.assets.map((a) => a.firstSeenAt));
    expect(new Set(second.assets.map((a) => a.key)).size).toBe(second.assets.length);
    expect(new Set(second.findings.map((f) => f.key)).size).toBe(second.findings.length);
    expect(first.report.totals.knowledgeBaseLookups).toBeGreaterThan(0);
    expect(second.report.totals.knowledgeBaseLookups).toBe(0);
    // The credentials probe and the "what changed since the last run" question, nothing more.
    expect(sim.stats().calls.knowledgeBase).toBe(2);
    await expectNoSecretAnywhere(env, sim.password, second.workflowId, second.databaseUrl);
  });

  describe('failures a person must fix fail fast, non-retryably, and say what to do', () => {
    const failureOf = async (run: Promise<unknown>): Promise<ApplicationFailure> => {
      const err = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const activityFailure = (err as WorkflowFailedError).cause;
      expect(activityFailure).toBeInstanceOf(ActivityFailure);
      const cause = (activityFailure as ActivityFailure).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      return cause as ApplicationFailure;
    };

    it('a bad password names the three causes', async () => {
      const env = testEnvironment.env();
      const sim = await simulator({ hosts: 10, users: [{ username: 'api_user', password: 'the-real-Passw0rd' }] });
      const workflowId = `badpw-${Date.now()}`;
      const databaseUrl = await freshDatabase();
      const failure = await failureOf(
        runSync(env, sim, { connection: 'badpw', workflowId, databaseUrl, credentials: { username: 'api_user', password: 'a-wrong-Passw0rd' } }),
      );
      expect(failure.type).toBe('QualysAuthenticationFailed');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toMatch(/username or password/);
      expect(failure.message).toMatch(/API access/);
      expect(failure.message).toMatch(/platform \(POD\)/);
      expect(sim.stats().calls.hostList).toBe(1); // tried once, not retried
      // Fast by construction, not by the clock: the credentials check ran once, on its first attempt.
      const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const checks = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'validateCredentials');
      expect(checks).toHaveLength(1);
      const attempts = events
        .filter((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === Number(checks[0]?.eventId))
        .map((e) => e.activityTaskStartedEventAttributes?.attempt);
      expect(attempts).toEqual([1]);
      // The failure is where a leak would hide: neither password is in history, files or logs.
      await expectNoSecretAnywhere(env, 'a-wrong-Passw0rd', workflowId, databaseUrl);
      await expectNoSecretAnywhere(env, 'the-real-Passw0rd', workflowId, databaseUrl);
    });

    it('a user without KnowledgeBase access is told to fix that', async () => {
      const env = testEnvironment.env();
      const sim = await simulator({ hosts: 10, users: [{ username: 'no_kb', password: 'nokb-Passw0rd!', knowledgeBase: false }] });
      const failure = await failureOf(runSync(env, sim, { connection: 'nokb' }));
      expect(failure.type).toBe('QualysPermissionDenied');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toMatch(/KnowledgeBase is needed to map QIDs to CVEs/);
      expect(sim.stats().calls.knowledgeBase).toBe(1);
      expect(sim.stats().calls.hostDetection).toBe(0);
    });

    it('an unknown connection profile names the profiles the worker has', async () => {
      const env = testEnvironment.env();
      const sim = await simulator({ hosts: 5 });
      const failure = await failureOf(runSync(env, sim, { connection: 'nosuch', profileName: 'prod' }));
      expect(failure.type).toBe('ConfigError');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain('No connection profile named "nosuch"');
      expect(failure.message).toContain('Known profiles: prod');
      expect(simulatorCalls(sim)).toEqual({});
    });
  });
});
