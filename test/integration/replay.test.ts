import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { untracedWorkerOptions } from '../../src/telemetry/tracing';
import { connectToTestServer } from '../harness/temporal';

// Histories of real runs (recorded by `npm run replay:record`) replayed against the current workflow
// code: a change that would break a run in flight — one waiting on a rate-limit timer for an hour, say —
// fails here instead of in production. See the README, "Changing the workflow".

const HISTORIES_DIR = path.join(__dirname, '..', 'replay', 'histories');

function recordedHistories(): Array<{ name: string; history: temporal.api.history.v1.IHistory }> {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), history: historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES_DIR, f), 'utf8'))) }));
}

/** The patches a history's run took (the SDK records each as a `core_patch` marker naming its ID). */
function patchesIn(history: temporal.api.history.v1.IHistory): string[] {
  const ids: string[] = [];
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') continue;
    for (const payload of marker.details?.['patch-data']?.payloads ?? []) {
      const data: unknown = JSON.parse(Buffer.from(payload.data ?? new Uint8Array()).toString('utf8'));
      if (typeof data === 'object' && data !== null && 'id' in data && typeof data.id === 'string') ids.push(data.id);
    }
  }
  return ids;
}

function replayOptions() {
  const codePath = process.env.TEST_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('TEST_WORKFLOW_BUNDLE is not set: run the integration tests with `npm test`');
  // The bundle's tracing interceptor hands its spans to a sink, which replay must know (it drops them).
  return { workflowBundle: { codePath }, ...untracedWorkerOptions() };
}

async function replay(histories: Array<{ name: string; history: temporal.api.history.v1.IHistory }>): Promise<Record<string, string>> {
  const outcomes: Record<string, string> = {};
  const results = Worker.runReplayHistories(
    replayOptions(),
    histories.map((h) => ({ workflowId: h.name, history: h.history })),
  );
  for await (const result of results) outcomes[result.workflowId] = result.error ? `${result.error.name}: ${result.error.message}` : 'ok';
  return outcomes;
}

describe('replay: recorded histories of real runs replay against the current workflow code', () => {
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    close = (await connectToTestServer()).close; // installs the test Runtime the replayer needs
  });
  afterAll(async () => close?.());

  it('every recorded history replays without a non-determinism error', async () => {
    const histories = recordedHistories();
    // The kinds of run the replay must cover; a missing one means the recording was cut short.
    expect(histories.map((h) => h.name)).toEqual(
      expect.arrayContaining([
        'completed', 'applied-as-fetched', 'rounds-applied-during-fetch', 'continued-as-new-first', 'continued-as-new-last', 'waiting-on-rate-limit', 'page-retried', 'cancelled', 'failed', 'skipped', 'connection-lock',
      ]),
    );
    const outcomes = await replay(histories);
    expect(outcomes).toEqual(Object.fromEntries(histories.map((h) => [h.name, 'ok'])));
  });

  it('both sides of each patch are covered: runs from before it (v1-* … v6-*) and runs that took it; continued runs of both forms', () => {
    const histories = recordedHistories();
    const took = (patch: string): string[] => histories.filter((h) => patchesIn(h.history).includes(patch)).map((h) => h.name);
    expect(took('pages-follow-the-limit')).toEqual(
      expect.arrayContaining(['completed', 'cancelled', 'failed', 'page-retried', 'waiting-on-rate-limit', 'v2-completed', 'v2-cancelled']),
    );
    const v1 = histories.filter((h) => h.name.startsWith('v1-'));
    expect(v1.map((h) => h.name)).toEqual(expect.arrayContaining(['v1-completed', 'v1-waiting-on-rate-limit', 'v1-continued-as-new-first']));
    for (const h of v1) expect(patchesIn(h.history)).toEqual([]);
    // The lock released outside the run's cancellation scope: runs from before (v2-*) and after (v3-*, the others).
    expect(took('lock-released-on-every-ending')).toEqual(
      expect.arrayContaining(['completed', 'cancelled', 'failed', 'continued-as-new-last', 'v3-completed', 'v3-cancelled']),
    );
    const v2 = histories.filter((h) => h.name.startsWith('v2-'));
    expect(v2.map((h) => h.name)).toEqual(expect.arrayContaining(['v2-completed', 'v2-cancelled', 'v2-failed', 'v2-continued-as-new-last']));
    for (const h of v2) expect(patchesIn(h.history)).not.toContain('lock-released-on-every-ending');
    // Pages applied as they arrive: runs from before (v1-* … v3-*) and after, one with every page applied in its fetch lane.
    expect(took('pages-applied-as-they-arrive')).toEqual(
      expect.arrayContaining(['completed', 'applied-as-fetched', 'cancelled', 'failed', 'page-retried', 'waiting-on-rate-limit', 'continued-as-new-first']),
    );
    for (const h of histories.filter((h) => /^v[123]-/.test(h.name))) expect(patchesIn(h.history)).not.toContain('pages-applied-as-they-arrive');
    // Executions continued as new start from what the one before carried: the run state (the others), or
    // the continuation of runs from before it (v1-* … v4-*), which they read once at their start.
    const carried = (name: string): Record<string, unknown> => {
      const payload = histories.find((h) => h.name === name)?.history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[1];
      if (!payload?.data) throw new Error(`${name} does not start from what a continued run carries`);
      return JSON.parse(Buffer.from(payload.data).toString('utf8')) as Record<string, unknown>;
    };
    expect(carried('continued-as-new-last')).toMatchObject({ stateVersion: 1, pass: 'apply', appliesAsFetched: true, knowledgeBaseRounds: expect.any(Object) });
    // Run states from before KnowledgeBase rounds (v5-*) carry none.
    expect(carried('v5-continued-as-new-last')).toMatchObject({ stateVersion: 1, pass: 'apply', appliesAsFetched: true });
    expect(carried('v5-continued-as-new-last')).not.toHaveProperty('knowledgeBaseRounds');
    for (const name of ['v1-continued-as-new-last', 'v2-continued-as-new-last', 'v3-continued-as-new-last', 'v4-continued-as-new-last']) {
      expect(carried(name)).not.toHaveProperty('stateVersion');
      expect(carried(name)).toMatchObject({ pass: 'upload', pageConcurrency: expect.any(Number) });
    }
    expect(carried('v4-continued-as-new-last')).toHaveProperty('waitingForQids');
    const stepsOf = (name: string): Array<string | null | undefined> =>
      (histories.find((h) => h.name === name)?.history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    /** The most `uploadPage` steps scheduled and not yet completed at one time in a history. */
    const uploadsAtOnce = (name: string): number => {
      const uploads = new Set<string>();
      let open = 0;
      let most = 0;
      for (const e of histories.find((h) => h.name === name)?.history.events ?? []) {
        if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'uploadPage') {
          uploads.add(String(e.eventId));
          most = Math.max(most, ++open);
        }
        const ended = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
        if (ended && uploads.has(String(ended.scheduledEventId))) open -= 1;
      }
      return most;
    };
    const applied = stepsOf('v4-applied-as-fetched');
    expect(applied.indexOf('uploadPage')).toBeGreaterThan(0);
    expect(applied.indexOf('uploadPage')).toBeLessThan(applied.indexOf('lookupKnowledgeBase'));
    // With rounds, a run whose pages all arrive known makes no KnowledgeBase lookup at all.
    expect(stepsOf('applied-as-fetched')).toContain('uploadPage');
    expect(stepsOf('applied-as-fetched')).not.toContain('lookupKnowledgeBase');
    // KnowledgeBase rounds during the fetch pass: runs from before (v1-* … v5-*) and after, one whose rounds
    // completed waiting pages that were applied before the last page was fetched.
    expect(took('knowledge-base-rounds')).toEqual(
      expect.arrayContaining(['completed', 'rounds-applied-during-fetch', 'cancelled', 'failed', 'page-retried', 'waiting-on-rate-limit', 'continued-as-new-first']),
    );
    const v4 = histories.filter((h) => h.name.startsWith('v4-'));
    expect(v4.map((h) => h.name)).toEqual(expect.arrayContaining(['v4-completed', 'v4-applied-as-fetched', 'v4-continued-as-new-first', 'v4-continued-as-new-last']));
    for (const h of histories.filter((h) => /^v[12345]-/.test(h.name))) expect(patchesIn(h.history)).not.toContain('knowledge-base-rounds');
    // Two pages beyond the calls, and the apply pass in as many lanes as the fetch pass: runs from before
    // (v1-* … v6-*) and after, whose waiting pages are applied side by side at the Standard tier.
    expect(took('applies-beside-fetches')).toEqual(expect.arrayContaining(['completed', 'cancelled', 'failed', 'continued-as-new-last']));
    const v6 = histories.filter((h) => h.name.startsWith('v6-'));
    expect(v6.map((h) => h.name)).toEqual(expect.arrayContaining(['v6-completed', 'v6-continued-as-new-last']));
    for (const h of histories.filter((h) => /^v[1-6]-/.test(h.name))) expect(patchesIn(h.history)).not.toContain('applies-beside-fetches');
    expect(uploadsAtOnce('completed')).toBe(2);
    expect(uploadsAtOnce('v6-completed')).toBe(1);
    const rounds = stepsOf('rounds-applied-during-fetch');
    const firstRound = rounds.indexOf('lookupKnowledgeBase');
    expect(firstRound).toBeGreaterThan(0);
    expect(rounds.indexOf('uploadPage', firstRound)).toBeLessThan(rounds.lastIndexOf('fetchDetections'));
  });

  it('a history that no longer matches the code fails the replay (so the check above can fail)', async () => {
    const completed = recordedHistories().find((h) => h.name === 'completed');
    if (!completed) throw new Error('the completed history is missing');
    // As if the workflow had been changed to call a different step first: the recorded command differs.
    const altered = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES_DIR, 'completed.json'), 'utf8')));
    const scheduled = altered.events?.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'validateCredentials');
    const activityType = scheduled?.activityTaskScheduledEventAttributes?.activityType;
    if (!activityType) throw new Error('the completed history has no validateCredentials step');
    activityType.name = 'someOtherStep';
    const outcomes = await replay([{ name: 'altered', history: altered }]);
    expect(outcomes.altered).toMatch(/DeterminismViolationError|nondetermin/i);
  });
});
