import { Context } from '@temporalio/activity';
import type { CallGateFactory, CallOutcome, CallPass } from '../qualys/call-gate';
import { endpointInfo, type QualysEndpoint } from '../qualys/endpoints';
import { QualysError } from '../qualys/errors';
import { ApiBudgetExhaustedError, subscriptionKey, type ApiAnswer, type ApiGuard, type GuardedCall } from '../store/api-guard';

/**
 * The Qualys client's gate backed by the store's ApiGuard, so every worker process counts the same
 * concurrency slots and rate budgets. A spent budget becomes the very failure a 1965 would be (kind
 * 'rate-limit' with its wait), so the activities handle both alike: a short wait is the activity's next
 * retry delay, a long one a durable workflow timer.
 *
 * A slot's lease is never longer than the step's heartbeat timeout: a step whose worker hangs is handed
 * to another worker after that timeout, and by then the slot it held is free for it.
 */
export function storeCallGate(guard: ApiGuard): CallGateFactory {
  return ({ baseUrl, username }) => {
    const subscription = subscriptionKey(baseUrl, username);
    return {
      async enter(endpoint, signal) {
        try {
          return leasedPass(endpoint, await guard.enter(subscription, endpoint, signal, heartbeatTimeoutMs()));
        } catch (err) {
          if (err instanceof ApiBudgetExhaustedError) throw budgetSpent(endpoint, err);
          throw err;
        }
      },
    };
  };
}

/** The pass of a guarded call: its lease's lapse becomes a retryable Qualys failure of the call. */
function leasedPass(endpoint: QualysEndpoint, call: GuardedCall): CallPass {
  const lapsed = new AbortController();
  const follow = (): void => lapsed.abort(leaseLapsed(endpoint, call.lease.signal.reason));
  if (call.lease.signal.aborted) follow();
  else call.lease.signal.addEventListener('abort', follow, { once: true });
  return {
    lease: {
      signal: lapsed.signal,
      check: () => {
        try {
          call.lease.check();
        } catch (err) {
          follow();
          throw leaseLapsed(endpoint, err);
        }
      },
    },
    leave: async (outcome) => {
      call.lease.signal.removeEventListener('abort', follow);
      await call.leave(answerOf(outcome));
    },
  };
}

/** The running step's heartbeat timeout, when there is one (outside a worker, in tests, none). */
function heartbeatTimeoutMs(): number | undefined {
  try {
    return Context.current().info.heartbeatTimeoutMs || undefined;
  } catch {
    return undefined;
  }
}

function leaseLapsed(endpoint: QualysEndpoint, cause: unknown): QualysError {
  return new QualysError({
    kind: 'concurrency-limit',
    endpoint,
    message: `${endpointInfo[endpoint].title}: the call was not made or was abandoned, because this worker's API slot lapsed while it was paused or cut off from the database (${
      cause instanceof Error ? cause.message : String(cause)
    })`,
    fix: 'Nothing to do: the step takes a slot again and retries. If it happens often, the worker is starved of CPU or its database connection is unreliable.',
  });
}

function answerOf({ limits, refusedWaitSeconds }: CallOutcome): ApiAnswer | undefined {
  if (!limits && refusedWaitSeconds === undefined) return undefined;
  return {
    concurrencyLimit: limits?.concurrencyLimit,
    rateLimit: limits?.rateLimit,
    windowSeconds: limits?.rateWindowSeconds,
    remaining: limits?.rateRemaining,
    toWaitSeconds: limits?.toWaitSeconds || refusedWaitSeconds,
  };
}

function budgetSpent(endpoint: QualysEndpoint, err: ApiBudgetExhaustedError): QualysError {
  return new QualysError({
    kind: 'rate-limit',
    endpoint,
    waitSeconds: err.waitSeconds,
    message: `${endpointInfo[endpoint].title}: ${err.message} (paced by the connector before Qualys refused anything)`,
    fix: 'Nothing to do: the run waits and goes on by itself. Runs that often wait need a higher API limit on the subscription, or fewer runs at once.',
  });
}
