import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { progressQuery } from '../src/workflows/progress';

const POLL_MS = 500;
/** A query a stopped or dead worker would hold: its deadline (the next poll tries again). */
const QUERY_TIMEOUT_MS = 3_000;

export type RunStatus = 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT' | 'CONTINUED_AS_NEW' | 'RUNNING' | 'UNKNOWN' | 'UNSPECIFIED';

/**
 * Watches one run through the Temporal client while faults come and go: when its progress last moved
 * (the `progress` query), and when it closed. Every call may fail while Temporal or a worker is down;
 * the watch just asks again.
 */
export class RunWatch {
  /** Times (ms since epoch) at which the run's progress was seen to change. */
  readonly progressAt: number[] = [];
  closedAt: number | undefined;
  status: RunStatus = 'RUNNING';
  #last = '';

  constructor(private readonly handle: WorkflowHandle) {}

  /** Polls until the run closes, `deadline` passes or `signal` aborts; resolves with whether it closed. */
  async untilClosed(deadline: number, signal?: AbortSignal): Promise<boolean> {
    while (Date.now() < deadline && !signal?.aborted) {
      const status = await this.#describe();
      if (status && status !== 'RUNNING') {
        this.status = status;
        this.closedAt = Date.now();
        return true;
      }
      await this.#progress();
      await sleep(POLL_MS);
    }
    return false;
  }

  /** How long after `at` the run was next seen to move on (progress, or its close). */
  recoveryAfter(at: number): number | undefined {
    const next = [...this.progressAt, ...(this.closedAt !== undefined ? [this.closedAt] : [])].filter((t) => t >= at).sort((a, b) => a - b)[0];
    return next === undefined ? undefined : next - at;
  }

  /**
   * One call with a deadline, waited for to the end. The client retries a call that met Temporal down on
   * a timer of its own: a call given up on without its deadline could still be retrying when the soak
   * closes its connection ("Channel has been shut down" from that timer). With the deadline, the client
   * ends the call, retries included, and the watch sees it end.
   */
  #call<T>(call: () => Promise<T>): Promise<T> {
    return this.handle.client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, call);
  }

  async #describe(): Promise<RunStatus | undefined> {
    try {
      const description = await this.#call(() => this.handle.describe());
      return description.status.name as RunStatus;
    } catch {
      return undefined;
    }
  }

  async #progress(): Promise<void> {
    try {
      const p = await this.#call(() => this.handle.query(progressQuery));
      const signature = `${p.phase}|${p.pagesTotal}|${p.pagesFetched}|${p.pagesDone}|${p.hosts}|${p.continuedAsNew}`;
      if (signature !== this.#last) {
        this.#last = signature;
        this.progressAt.push(Date.now());
      }
    } catch {
      // Temporal or the run's worker is away: no news this time.
    }
  }
}
