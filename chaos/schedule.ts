import { Random } from '../simulator/random';
import type { Endpoint } from '../simulator';
import { FAILURE_TABLE } from '../src/contracts/failure-table';

/** How many answers that will not parse one step takes before it gives up (the failure table's). */
const MALFORMED_RESPONSE_ATTEMPTS = FAILURE_TABLE.QualysMalformedResponse.attempts;

/**
 * The soak's plan, drawn from its seed alone: which runs are full or incremental, which are cancelled
 * and when, and which faults hit each run at what moment. The same seed always gives the same plan, so
 * a failure is reproduced with `--seed` (the moments are from the run's start; what the faults meet at
 * those moments depends on the machine's speed, which is why every run is checked, not just replayed).
 */

export const FAULT_KINDS = [
  'worker-kill',
  'worker-stop',
  'postgres-restart',
  'temporal-restart',
  'qualys-5xx',
  'qualys-409-burst',
  'qualys-reset',
  'qualys-truncated',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults of the Qualys side: set on the simulator at the run's start, served to the next matching calls. */
export const QUALYS_FAULTS: ReadonlySet<FaultKind> = new Set(['qualys-5xx', 'qualys-409-burst', 'qualys-reset', 'qualys-truncated']);

const QUALYS_ENDPOINTS: readonly Endpoint[] = ['hostList', 'hostDetection', 'hostAssetSearch', 'knowledgeBase'];

export interface PlannedFault {
  kind: FaultKind;
  /** When, after the run started. */
  atMs: number;
  /** Which worker (worker faults). */
  worker: number;
  /** How long the thing stays stopped (stop and restart faults). */
  downMs: number;
  /** Which Qualys API, and how many of its calls (Qualys faults). */
  endpoint: Endpoint;
  count: number;
}

export interface PlannedRun {
  index: number;
  mode: 'full' | 'incremental';
  /** Whether the simulator's estate moves on before the run. */
  advance: boolean;
  /** Cancel the run this long after its start. */
  cancelAtMs?: number;
  faults: PlannedFault[];
}

export interface PlanOptions {
  seed: number;
  runs: number;
  workers: number;
  /** Most faults in one run (at least one each). */
  maxFaultsPerRun: number;
  /** The runs' heartbeat timeout: a stopped worker stays stopped past it. */
  heartbeatTimeoutMs: number;
  /** Faults and cancels land within this long after a run's start. */
  windowMs: number;
}

const WEIGHTS: ReadonlyArray<readonly [FaultKind, number]> = [
  ['worker-kill', 3],
  ['worker-stop', 3],
  ['postgres-restart', 2],
  ['temporal-restart', 2],
  ['qualys-5xx', 2],
  ['qualys-409-burst', 2],
  ['qualys-reset', 2],
  ['qualys-truncated', 2],
];

export function planSoak(options: PlanOptions): PlannedRun[] {
  return Array.from({ length: options.runs }, (_, index) => planRun(options, index));
}

function planRun(options: PlanOptions, index: number): PlannedRun {
  const random = new Random(options.seed, index, 0x5eed);
  const at = (): number => random.int(200, options.windowMs);
  const faults = Array.from({ length: random.int(1, options.maxFaultsPerRun) }, (): PlannedFault => {
    const kind = random.weighted(WEIGHTS);
    return {
      kind,
      atMs: at(),
      worker: random.int(0, options.workers - 1),
      downMs: kind === 'worker-stop' ? options.heartbeatTimeoutMs + random.int(1_000, 3_000) : random.int(500, 3_000),
      endpoint: random.pick(QUALYS_ENDPOINTS),
      count: kind === 'qualys-409-burst' ? random.int(2, 6) : random.int(1, 3),
    };
  });
  // Cut bodies are transient only below the connector's limit: a step gives up after
  // MALFORMED_RESPONSE_ATTEMPTS of them, by design, and one step may call several APIs. A run gets
  // fewer than that in all.
  let cut = 0;
  for (const fault of faults.filter((f) => f.kind === 'qualys-truncated')) {
    fault.count = Math.min(fault.count, MALFORMED_RESPONSE_ATTEMPTS - 1 - cut);
    cut += fault.count;
  }
  return {
    index,
    // The first run is full (there is nothing to be incremental from); then mostly incremental, as in production.
    mode: index === 0 || random.chance(0.3) ? 'full' : 'incremental',
    advance: index > 0,
    cancelAtMs: index > 0 && random.chance(0.15) ? at() : undefined,
    faults: faults.filter((f) => f.count > 0).sort((a, b) => a.atMs - b.atMs),
  };
}
