import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Pool } from 'pg';
import { z } from 'zod';
import type { RequestLogEntry } from '../simulator';
import { CHAOS_CONNECTION, CHAOS_TASK_QUEUE, ChaosCluster } from './cluster';
import { FaultInjector, qualysFaultPlans, qualysFaultsServed, type InjectedFault } from './inject';
import { RunWatch } from './run-watch';
import { FAULT_KINDS, planSoak, QUALYS_FAULTS, type FaultKind, type PlannedRun } from './schedule';
import { heldSlots, readStoreState } from './store-state';
import { divergencesFromBefore, divergencesFromTruth } from './truth-check';

export interface SoakOptions {
  seed: number;
  runs: number;
  workers: number;
  hosts: number;
  pageSize: number;
  heartbeatTimeoutSeconds: number;
  maxFaultsPerRun: number;
  /** A run not closed this long after its start is stuck. */
  stuckAfterMs: number;
  /** Where the cluster keeps its files. */
  dir: string;
  temporalCli?: string;
  log(line: string): void;
  /** Stops the soak (the run in progress is terminated, the cluster stopped). */
  signal?: AbortSignal;
}

export type RunOutcome = 'committed' | 'cancelled' | 'failed' | 'stuck';

export interface RunRecord {
  index: number;
  mode: PlannedRun['mode'];
  outcome: RunOutcome;
  /** The run's end state as Temporal reports it, and its failure when it failed. */
  status: string;
  failure?: string;
  faults: Partial<Record<FaultKind, number>>;
  divergences: string[];
  /** Slots still held once the run had ended and the bound had passed. */
  slotsLeft: number;
  /** The most calls Qualys saw at once on one API (the subscription allows CONCURRENCY_LIMIT). */
  peakInFlight: number;
  calls: number;
  /** Calls beyond one per distinct request (endpoint and parameters): retries and repeated pages. */
  callsOverMinimum: number;
  longestRecoveryMs?: number;
  durationMs: number;
}

/** The simulator's default: Qualys' Standard tier. */
export const CONCURRENCY_LIMIT = 2;

export async function runSoak(options: SoakOptions): Promise<RunRecord[]> {
  const plans = planSoak({
    seed: options.seed,
    runs: options.runs,
    workers: options.workers,
    maxFaultsPerRun: options.maxFaultsPerRun,
    heartbeatTimeoutMs: options.heartbeatTimeoutSeconds * 1000,
    windowMs: 6_000,
  });
  const cluster = await ChaosCluster.start({ dir: options.dir, workers: options.workers, hosts: options.hosts, seed: options.seed, temporalCli: options.temporalCli });
  const pool = new Pool({ connectionString: cluster.databaseUrl, max: 2 });
  pool.on('error', () => undefined);
  const records: RunRecord[] = [];
  try {
    for (const plan of plans) {
      if (options.signal?.aborted) break;
      const record = await soakRun(cluster, pool, plan, options);
      // A run the soak was stopped in the middle of says nothing.
      if (options.signal?.aborted) break;
      records.push(record);
      options.log(describeRun(record));
    }
  } finally {
    await pool.end().catch(() => undefined);
    await cluster.close();
  }
  return records;
}

async function soakRun(cluster: ChaosCluster, pool: Pool, plan: PlannedRun, options: SoakOptions): Promise<RunRecord> {
  if (plan.advance) cluster.sim.advance();
  const before = await retrying(() => readStoreState(pool, CHAOS_CONNECTION));
  cluster.sim.resetStats();
  cluster.sim.setFaults(qualysFaultPlans(plan.faults));
  const input = {
    connection: CHAOS_CONNECTION,
    mode: plan.mode,
    pageSize: options.pageSize,
    heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds,
    retryWindowMinutes: 30,
  };
  const workflowId = `chaos-${options.seed}-${plan.index}`;
  const handle = await retrying(() => cluster.client.workflow.start('qualysSync', { taskQueue: CHAOS_TASK_QUEUE, workflowId, args: [input] }));
  const startedAt = Date.now();
  const watch = new RunWatch(handle);
  const injector = new FaultInjector(cluster);
  const injected: Array<Promise<InjectedFault | undefined>> = plan.faults
    .filter((f) => !QUALYS_FAULTS.has(f.kind))
    .map(async (fault) => {
      await sleep(Math.max(0, startedAt + fault.atMs - Date.now()));
      return watch.closedAt === undefined ? injector.inject(fault) : undefined;
    });
  const cancelled = plan.cancelAtMs === undefined ? Promise.resolve() : cancelAt(startedAt + plan.cancelAtMs, watch, () => handle.cancel());

  const closed = await watch.untilClosed(startedAt + options.stuckAfterMs, options.signal);
  const faults = (await Promise.all(injected)).filter((f): f is InjectedFault => f !== undefined);
  await cancelled;
  cluster.sim.setFaults([]);
  if (!closed) await retrying(() => handle.terminate('stuck past the soak bound')).catch((err: unknown) => (err instanceof WorkflowNotFoundError ? undefined : Promise.reject(err)));

  let failure: string | undefined;
  let outcome: RunOutcome = 'stuck';
  if (closed) {
    outcome = watch.status === 'COMPLETED' ? 'committed' : watch.status === 'CANCELLED' ? 'cancelled' : 'failed';
    if (outcome === 'failed') failure = await handle.result().then(() => undefined, (err: unknown) => describeFailure(err));
    // A completed run that was skipped (another run of the connection held it) committed nothing.
    if (outcome === 'committed') {
      const result = z.object({ outcome: z.string() }).parse(await retrying(() => handle.result()));
      if (result.outcome !== 'completed') outcome = 'failed';
    }
  }
  const after = await retrying(() => readStoreState(pool, CHAOS_CONNECTION));
  const divergences = outcome === 'committed' ? divergencesFromTruth(cluster.sim.truth(), CHAOS_CONNECTION, after, before) : divergencesFromBefore(after, before);
  if (outcome === 'committed' && after.currentRunKey === before.currentRunKey) divergences.push('the run completed but the connection still points at the previous run');

  // Every slot is given back once the run is over: at once, or within its lease (the heartbeat timeout).
  const slotBound = Date.now() + 2 * options.heartbeatTimeoutSeconds * 1000 + 5_000;
  let slotsLeft = await retrying(() => heldSlots(pool));
  while (slotsLeft > 0 && Date.now() < slotBound) {
    await sleep(250);
    slotsLeft = await retrying(() => heldSlots(pool));
  }

  const stats = cluster.sim.stats();
  const counted: Partial<Record<FaultKind, number>> = {};
  for (const fault of faults) counted[fault.kind] = (counted[fault.kind] ?? 0) + 1;
  const planned = (kind: FaultKind): number => plan.faults.filter((f) => f.kind === kind).reduce((n, f) => n + f.count, 0);
  for (const [kind, served] of Object.entries(qualysFaultsServed(stats.errorsServed)) as Array<[FaultKind, number]>) {
    // A 409 the connector provoked itself is not an injected fault (its peak in flight says so).
    const n = Math.min(served, planned(kind));
    if (n > 0) counted[kind] = n;
  }
  const recoveries = faults.map((f) => watch.recoveryAfter(f.restoredAt)).filter((ms): ms is number => ms !== undefined);
  return {
    index: plan.index,
    mode: plan.mode,
    outcome,
    status: watch.status,
    failure,
    faults: counted,
    divergences,
    slotsLeft,
    peakInFlight: Math.max(0, ...Object.values(stats.peakInFlightByEndpoint)),
    calls: stats.requests.length,
    callsOverMinimum: stats.requests.length - distinctRequests(stats.requests),
    longestRecoveryMs: recoveries.length > 0 ? Math.max(...recoveries) : undefined,
    durationMs: (watch.closedAt ?? Date.now()) - startedAt,
  };
}

/** Cancels the run at `at` unless it closed before; a cancel that finds Temporal down is sent again. */
async function cancelAt(at: number, watch: RunWatch, cancel: () => Promise<unknown>): Promise<void> {
  await sleep(Math.max(0, at - Date.now()));
  while (watch.closedAt === undefined) {
    try {
      await cancel();
      return;
    } catch {
      await sleep(500);
    }
  }
}

function distinctRequests(requests: readonly RequestLogEntry[]): number {
  return new Set(requests.map((r) => `${r.endpoint} ${JSON.stringify(Object.entries(r.params).sort(([a], [b]) => a.localeCompare(b)))}`)).size;
}

function describeFailure(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = (e as { cause?: unknown }).cause) parts.push(e.message);
  return parts.join(' ← ');
}

/** Store and Temporal calls between runs: a server a fault restarted may need a moment to answer again. */
async function retrying<T>(call: () => Promise<T>, attempts = 60): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await sleep(500);
    }
  }
}

export function describeRun(r: RunRecord): string {
  const faults = FAULT_KINDS.filter((k) => r.faults[k]).map((k) => `${k}×${r.faults[k]}`).join(' ') || 'no fault landed';
  const problems = [...r.divergences, ...(r.slotsLeft > 0 ? [`${r.slotsLeft} slot(s) still held`] : []), ...(r.peakInFlight > CONCURRENCY_LIMIT ? [`${r.peakInFlight} calls at once`] : [])];
  return (
    `run ${String(r.index).padStart(3)} ${r.mode.padEnd(11)} ${r.outcome.padEnd(9)} ${(r.durationMs / 1000).toFixed(1).padStart(6)} s  calls ${r.calls} (+${r.callsOverMinimum})  ${faults}` +
    (r.failure ? `\n        failure: ${r.failure}` : '') +
    (problems.length > 0 ? `\n        DIVERGED: ${problems.join('; ')}` : '')
  );
}
