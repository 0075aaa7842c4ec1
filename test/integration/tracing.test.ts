import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Client } from '@temporalio/client';
import { Pool } from 'pg';
import { ConnectionProfiles } from '../../src/config/connections';
import type { RunReport } from '../../src/store/types';
import { startTracing, type Tracing } from '../../src/telemetry/tracing';
import { openActivityDeps } from '../../src/worker/activity-deps';
import { createConnectorWorker } from '../../src/worker/create-worker';
import { completedSync, type CompletedSync } from '../../src/workflows/sync-result';
import { freshDatabase, testDatabasePassword } from '../harness/database';
import { freshTaskQueue } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { until } from '../harness/until';

/** Everything a span says, as text: its name, attributes, events, status and resource. */
function spanText(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    status: span.status,
    resource: span.resource.attributes,
  });
}

/** The run a span of Temporal's interceptors is about (the client and activity side name it one way, the workflow side another). */
function workflowIdOf(span: ReadableSpan): unknown {
  return span.attributes.temporalWorkflowId ?? span.attributes.workflowId;
}

/** A span's parents, nearest first. */
function ancestors(span: ReadableSpan, trace: readonly ReadableSpan[]): ReadableSpan[] {
  const chain: ReadableSpan[] = [];
  for (let parent = trace.find((s) => s.spanContext().spanId === span.parentSpanId); parent; parent = trace.find((s) => s.spanContext().spanId === parent?.parentSpanId)) {
    chain.push(parent);
  }
  return chain;
}

describe('traces: OpenTelemetry through the Temporal interceptors (in-memory exporter, real dev server, the simulator)', () => {
  const testEnvironment = useTestEnvironment();
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | undefined;
  beforeAll(() => {
    tracing = startTracing(new SimpleSpanProcessor(exporter));
  });
  afterAll(async () => tracing?.shutdown());

  it('one trace per run, holding the workflow, every activity, every Qualys call (with its 409 code) and the store writes, and no secret', async () => {
    if (!tracing) throw new Error('tracing did not start');
    const env = testEnvironment.env();
    const sim = await testEnvironment.simulator({ hosts: 60, seed: 5 });
    const connection = 'traced';
    const databaseUrl = await freshDatabase();
    const taskQueue = freshTaskQueue('traced');
    const deps = await openActivityDeps({
      databaseUrl,
      profiles: ConnectionProfiles.of({ name: connection, apiUrl: sim.url, username: sim.username, password: sim.password }),
    });
    const worker = await createConnectorWorker({
      connection: env.nativeConnection,
      namespace: env.namespace,
      taskQueue,
      deps,
      workflowBundlePath: process.env.TEST_WORKFLOW_BUNDLE,
      tracing: tracing.worker(),
      tuning: { shutdownGraceTime: '5s' },
    });
    const client = new Client({ connection: env.client.connection, namespace: env.namespace, interceptors: tracing.clientInterceptors() });

    // Two runs, one after the other; the first meets one Qualys concurrency refusal (409, CODE 1960).
    sim.setFaults({ endpoint: 'hostDetection', concurrencyLimitErrors: 1 });
    const runs: Array<{ workflowId: string; result: CompletedSync }> = [];
    await worker.runUntil(async () => {
      for (const n of [1, 2]) {
        const workflowId = `traced-${n}-${taskQueue}`;
        const handle = await client.workflow.start('qualysSync', { taskQueue, workflowId, args: [{ connection, pageSize: 20, mode: 'full' }] });
        runs.push({ workflowId, result: completedSync(await handle.result()) });
      }
      // The workflow's spans leave the sandbox through a sink, after its last activation.
      await until('both runs\' workflow spans', async () => {
        const done = exporter.getFinishedSpans().filter((s) => s.name === 'RunWorkflow:qualysSync');
        return runs.every((r) => done.some((s) => workflowIdOf(s) === r.workflowId)) ? true : undefined;
      });
    });
    await deps.close();

    const spans = exporter.getFinishedSpans();
    const pool = new Pool({ connectionString: databaseUrl });
    const traceIds: string[] = [];
    try {
      for (const run of runs) {
        const own = spans.filter((s) => workflowIdOf(s) === run.workflowId);
        const runTraces = new Set(own.map((s) => s.spanContext().traceId));
        // Every span Temporal's interceptors made for this run — the client's start, the workflow,
        // each activity scheduled and run — is in one trace.
        expect(runTraces.size).toBe(1);
        const [traceId] = [...runTraces];
        if (!traceId) throw new Error('no trace');
        traceIds.push(traceId);
        const trace = spans.filter((s) => s.spanContext().traceId === traceId);
        const names = trace.map((s) => s.name);
        expect(names).toEqual(expect.arrayContaining(['StartWorkflow:qualysSync', 'RunWorkflow:qualysSync']));

        // Every activity the history shows has its span, run from the workflow's trace.
        const history = await client.workflow.getHandle(run.workflowId).fetchHistory();
        const scheduled = (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
        // A KnowledgeBase lookup only in a run whose pages waited for one (a run on a warm cache has none).
        const kinds = new Set(scheduled);
        kinds.delete('lookupKnowledgeBase');
        expect(kinds).toEqual(new Set(['validateCredentials', 'refreshKnowledgeBase', 'enumerateAssets', 'fetchDetections', 'uploadPage', 'commitRun']));
        for (const type of new Set(scheduled)) {
          expect(names.filter((n) => n === `RunActivity:${type}`).length).toBeGreaterThanOrEqual(scheduled.filter((t) => t === type).length);
        }

        // Every Qualys call the run made (its report counts them, refusals included) is a span, a
        // child of the activity that made it, with its endpoint, HTTP status and body size.
        const { rows } = await pool.query<{ report: RunReport }>('SELECT report FROM runs WHERE run_key = $1', [run.result.runKey]);
        const report = rows[0]?.report;
        if (!report) throw new Error(`no report for ${run.workflowId}`);
        const calls = trace.filter((s) => s.name.startsWith('qualys '));
        const callsByEndpoint: Record<string, number> = {};
        for (const call of calls) {
          const endpoint = String(call.attributes['qualys.endpoint']);
          callsByEndpoint[endpoint] = (callsByEndpoint[endpoint] ?? 0) + 1;
          // Inside the activity's span (a page's calls run inside its streamed staging, so the
          // trace shows the call within the COPY it feeds).
          expect(ancestors(call, trace).find((s) => s.name.startsWith('RunActivity:'))).toBeDefined();
          expect(call.attributes['http.response.status_code']).toEqual(expect.any(Number));
          expect(call.attributes['qualys.response.bytes']).toBeGreaterThan(0);
        }
        expect(callsByEndpoint).toEqual(report.apiCalls.callsByEndpoint);

        // The store's writes: the run's start, each page's staging and upload, the commit.
        const writes = trace.filter((s) => s.name.startsWith('store ')).map((s) => s.attributes['db.operation.name']);
        // The trace reads top down: the client's start, the workflow, then its steps.
        const runWorkflow = trace.find((s) => s.name === 'RunWorkflow:qualysSync');
        expect(ancestors(trace.find((s) => s.name === 'RunActivity:commitRun') ?? runWorkflow!, trace).map((s) => s.name)).toEqual(
          expect.arrayContaining(['StartActivity:commitRun', 'RunWorkflow:qualysSync', 'StartWorkflow:qualysSync']),
        );
        expect(writes).toEqual(expect.arrayContaining(['beginRun', 'stageStreamedPart', 'uploadPage', 'commitRun']));
        expect(writes.filter((w) => w === 'uploadPage')).toHaveLength(report.totals.pages);
      }
    } finally {
      await pool.end();
    }
    expect(new Set(traceIds).size).toBe(2);

    // The refusal: a span with HTTP 409 and Qualys' code, marked as an error, in the first run's trace.
    const refused = spans.filter((s) => s.attributes['qualys.code'] === '1960');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.attributes['http.response.status_code']).toBe(409);
    expect(refused[0]?.spanContext().traceId).toBe(traceIds[0]);

    // No credential anywhere in any span: not the Qualys password, user name or Basic token, not the
    // database's password.
    const basic = Buffer.from(`${sim.username}:${sim.password}`).toString('base64');
    const everything = spans.map(spanText).join('\n');
    expect(everything).toContain('qualys hostDetection'); // the text is really there
    for (const secret of [sim.password, sim.username, basic, testDatabasePassword()]) expect(everything.includes(secret)).toBe(false);
  });
});
