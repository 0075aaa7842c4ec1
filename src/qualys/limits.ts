import { compact } from './compact';
import type { SubscriptionLimits } from './schemas';

/** Response headers, lower-cased names (as undici gives them). */
export type ResponseHeaders = Readonly<Record<string, string>>;

/**
 * Reads the API v2 limit headers (reference §2.1). Some Qualys documents spell the concurrency
 * headers without the middle hyphen (X-ConcurrencyLimit-*); both are read. Undefined when the
 * response carried none (QPS calls, failed logins, session calls).
 */
export function readSubscriptionLimits(headers: ResponseHeaders): SubscriptionLimits | undefined {
  const limits = compact<SubscriptionLimits>({
    rateLimit: headerInt(headers, 'x-ratelimit-limit'),
    rateWindowSeconds: headerInt(headers, 'x-ratelimit-window-sec'),
    rateRemaining: headerInt(headers, 'x-ratelimit-remaining'),
    toWaitSeconds: headerInt(headers, 'x-ratelimit-towait-sec'),
    concurrencyLimit: headerInt(headers, 'x-concurrency-limit-limit') ?? headerInt(headers, 'x-concurrencylimit-limit'),
    concurrencyRunning:
      headerInt(headers, 'x-concurrency-limit-running') ?? headerInt(headers, 'x-concurrencylimit-running'),
  });
  return Object.keys(limits).length === 0 ? undefined : limits;
}

function headerInt(headers: ResponseHeaders, name: string): number | undefined {
  const raw = headers[name]?.trim();
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : undefined;
}
