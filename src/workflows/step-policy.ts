import { ActivityCancellationType, ActivityFailure, ApplicationFailure, TimeoutFailure, type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES, QUALYS_BACKOFF, failureWhenRetriesRunOut } from '../contracts/failure-table';

// How each step of a run is retried (the failure table is the reference; the README's retry table is
// generated from it). Failures that waiting cannot fix are non-retryable by type; transient ones are
// retried with backoff for the run's retry window (hours by default, enough to ride out a Qualys or
// database outage), after which the run fails with a typed failure that says what to do.

/** What a step mostly waits on, which decides its backoff. */
export type StepKind = 'qualys' | 'store';

const BACKOFF: Readonly<Record<StepKind, RetryPolicy>> = {
  // Qualys: QualysETL backs off linearly to 5 minutes; Qualys' own guidance is 15–60 s for 1960s. This
  // runs on the attempt number, so it serves only attempts that end without a Qualys failure (a worker
  // killed or paused, the database down): every Qualys failure sets its own delay from the failure table.
  qualys: {
    initialInterval: `${QUALYS_BACKOFF.initialSeconds}s`,
    backoffCoefficient: QUALYS_BACKOFF.coefficient,
    maximumInterval: `${QUALYS_BACKOFF.maxSeconds}s`,
  },
  // The store is ours and usually back within seconds (a restart, a failover).
  store: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes' },
};

/** Base options of every step; per-call options (summary, timeouts from the input) are added per call. */
export const STEP_DEFAULTS: ActivityOptions = {
  // One attempt of the slowest step (a Host List Detection page on a real subscription) fits easily.
  startToCloseTimeout: '30 minutes',
  // A cancelled run waits for its steps to stop before it cleans up, so nothing is staged afterwards.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};

export function stepOptions(kind: StepKind, settings: { retryWindowMinutes: number; heartbeatTimeoutSeconds: number }): ActivityOptions {
  return {
    ...STEP_DEFAULTS,
    heartbeatTimeout: `${settings.heartbeatTimeoutSeconds}s`,
    scheduleToCloseTimeout: `${Math.round(settings.retryWindowMinutes * 60)}s`,
    retry: { ...BACKOFF[kind], nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
  };
}

/**
 * A step that kept failing for its whole retry window becomes a typed failure naming the step, the
 * window and the last error; other failures pass unchanged.
 */
export function explainRetriesExhausted(err: unknown, step: string, retryWindowMinutes: number): unknown {
  if (!(err instanceof ActivityFailure)) return err;
  // The window ends either during an attempt (a schedule-to-close timeout, the last failure as its
  // cause) or when the next retry would start after it (the last failure itself, retry state TIMEOUT).
  const timedOut = err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_CLOSE';
  if (!timedOut && err.retryState !== 'TIMEOUT') return err;
  const last = timedOut ? err.cause?.cause : err.cause;
  const lastType = last instanceof ApplicationFailure ? last.type : undefined;
  const lastMessage = last?.message;
  const type = failureWhenRetriesRunOut(lastType);
  const qualys = type === 'QualysUnavailable';
  const window = retryWindowMinutes >= 60 ? `${+(retryWindowMinutes / 60).toFixed(1)} h` : `${+retryWindowMinutes.toFixed(1)} min`;
  const what = qualys ? 'Qualys did not give a usable answer' : lastType ? 'the step kept failing' : 'the step did not finish';
  return ApplicationFailure.create({
    type,
    message:
      `${what} for the run's whole retry window of ${window} in "${step}"` +
      (lastMessage ? ` (last error${lastType ? ` ${lastType}` : ''}: ${lastMessage})` : '') +
      '. Nothing was committed. Fix the cause (Qualys status page, network, proxy, database), then start a new run;' +
      ' retryWindowMinutes sets how long a run keeps trying.',
    nonRetryable: true,
    cause: err,
  });
}
