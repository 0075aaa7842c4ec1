import type { CallGateFactory, CallOutcome } from '../qualys/call-gate';
import { endpointInfo, type QualysEndpoint } from '../qualys/endpoints';
import { QualysError } from '../qualys/errors';
import { ApiBudgetExhaustedError, subscriptionKey, type ApiAnswer, type ApiGuard } from '../store/api-guard';

/**
 * The Qualys client's gate backed by the store's ApiGuard, so every worker process counts the same
 * concurrency slots and rate budgets. A spent budget becomes the very failure a 1965 would be (kind
 * 'rate-limit' with its wait), so the activities handle both alike: a short wait is the activity's next
 * retry delay, a long one a durable workflow timer.
 */
export function storeCallGate(guard: ApiGuard): CallGateFactory {
  return ({ baseUrl, username }) => {
    const subscription = subscriptionKey(baseUrl, username);
    return {
      async enter(endpoint, signal) {
        try {
          const call = await guard.enter(subscription, endpoint, signal);
          return { leave: (outcome) => call.leave(answerOf(outcome)) };
        } catch (err) {
          if (err instanceof ApiBudgetExhaustedError) throw budgetSpent(endpoint, err);
          throw err;
        }
      },
    };
  };
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
