import type { FaultPlan } from '../simulator';
import type { ChaosCluster } from './cluster';
import type { FaultKind, PlannedFault } from './schedule';

/**
 * Puts one planned fault into effect on the cluster. Faults on one target (a worker, PostgreSQL, the
 * Temporal server) take turns, so a restart never overlaps a restart of the same thing; faults on
 * different targets overlap freely, as in production.
 */

export interface InjectedFault {
  kind: FaultKind;
  /** When the fault hit, and when what it took away was back (the same moment for a kill's restart). */
  at: number;
  restoredAt: number;
}

export class FaultInjector {
  readonly #busy = new Map<string, Promise<unknown>>();

  constructor(private readonly cluster: ChaosCluster) {}

  /** Injects the fault once its target is free; resolves when the target is back. */
  async inject(fault: PlannedFault): Promise<InjectedFault> {
    const target = fault.kind.startsWith('worker') ? `worker-${fault.worker}` : fault.kind;
    const previous = this.#busy.get(target) ?? Promise.resolve();
    const done = previous.catch(() => undefined).then(() => this.#apply(fault));
    this.#busy.set(target, done);
    return done;
  }

  async #apply(fault: PlannedFault): Promise<InjectedFault> {
    const at = Date.now();
    const worker = this.cluster.workers[fault.worker];
    switch (fault.kind) {
      case 'worker-kill':
        await worker?.kill();
        break;
      case 'worker-stop':
        await worker?.pause(fault.downMs);
        break;
      case 'postgres-restart':
        await this.cluster.restartPostgres(fault.downMs);
        break;
      case 'temporal-restart':
        await this.cluster.restartTemporal(fault.downMs);
        break;
      default:
        throw new Error(`${fault.kind} is set on the simulator, not injected`);
    }
    return { kind: fault.kind, at, restoredAt: Date.now() };
  }
}

/** The simulator's fault plans for a run's Qualys faults (each is served to the next matching calls). */
export function qualysFaultPlans(faults: readonly PlannedFault[]): FaultPlan[] {
  return faults.flatMap((f): FaultPlan[] => {
    switch (f.kind) {
      case 'qualys-5xx':
        return [{ endpoint: f.endpoint, serverErrors: f.count, serverErrorStatus: 503 }];
      case 'qualys-409-burst':
        // 409s are API v2 answers: on a QPS endpoint the burst goes to every API v2 endpoint instead.
        return [{ endpoint: f.endpoint === 'hostAssetSearch' ? undefined : f.endpoint, concurrencyLimitErrors: f.count }];
      case 'qualys-reset':
        return [{ endpoint: f.endpoint, connectionResets: f.count }];
      case 'qualys-truncated':
        return [{ endpoint: f.endpoint, truncatedBodies: f.count }];
      default:
        return [];
    }
  });
}

/** How many Qualys faults of each kind the simulator actually served (its errors by key). */
export function qualysFaultsServed(errorsServed: Record<string, number>): Partial<Record<FaultKind, number>> {
  return {
    'qualys-5xx': errorsServed['503'] ?? 0,
    'qualys-409-burst': errorsServed['409/1960'] ?? 0,
    'qualys-reset': errorsServed.reset ?? 0,
    'qualys-truncated': errorsServed.truncated ?? 0,
  };
}
