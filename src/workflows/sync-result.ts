import type { RunMode, RunTotals, StateChanges, StateCounts } from '../contracts/run';

/** What a `qualysSync` run returns (workflow result JSON, as `temporal workflow result` prints it). */
export type SyncResult =
  | {
      outcome: 'completed';
      connection: string;
      /** The run's key in the store (the runs table holds its report). */
      runKey: string;
      /** Full (every host) or incremental (the hosts Qualys processed since the last committed run). */
      mode: RunMode;
      totals: RunTotals;
      changes: StateChanges;
      state: StateCounts;
    }
  /** Another run of the same connection was in progress: this one did nothing. */
  | { outcome: 'skipped'; connection: string; alreadyRunning: string; message: string };

export type CompletedSync = Extract<SyncResult, { outcome: 'completed' }>;

/** The result of a run that did the work; throws with the reason when it was skipped. */
export function completedSync(result: SyncResult): CompletedSync {
  if (result.outcome !== 'completed') throw new Error(`the run was skipped: ${result.message}`);
  return result;
}
