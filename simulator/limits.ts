/**
 * Qualys API v2 limits, enforced for real: per endpoint, a concurrency limit (calls in flight, from
 * request start to response end) and a rate limit over a rolling window. Concurrency is checked first
 * ("the concurrency limit error takes precedence", reference §2.1).
 *
 * Assumption: a call refused with 1960 or 1965 does not itself count against the rate limit.
 *
 * Limits are per subscription, shared with the customer's other tools. An injected 1965 fault stands
 * for those tools having used the budget up: the limiter then refuses every call for the announced
 * wait, and every response's headers say so, so `X-RateLimit-Remaining` never jumps from 0 back to
 * hundreds right after a refusal.
 */
import type { Endpoint } from './types';

export interface LimitSettings {
  concurrencyLimit: number;
  rateLimit: { calls: number; windowSeconds: number };
}

export type Admission =
  | { admitted: true; headers: Record<string, string>; release: () => void }
  | { admitted: false; code: '1960'; callsToFinish: number; headers: Record<string, string> }
  | { admitted: false; code: '1965'; secondsToWait: number; headers: Record<string, string> };

class EndpointLimiter {
  private running = 0;
  /** Start times (epoch ms) of admitted calls still inside the window, oldest first. */
  private starts: number[] = [];
  private head = 0;
  /** Epoch ms until which the window counts as used up by the subscription's other clients. */
  private blockedUntil = 0;

  constructor(private readonly settings: LimitSettings) {}

  private windowMs(): number {
    return this.settings.rateLimit.windowSeconds * 1000;
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs();
    while (this.head < this.starts.length && (this.starts[this.head] ?? 0) <= cutoff) this.head++;
    if (this.head > 1024 && this.head * 2 > this.starts.length) {
      this.starts = this.starts.slice(this.head);
      this.head = 0;
    }
  }

  private inWindow(): number {
    return this.starts.length - this.head;
  }

  private blockedSeconds(now: number): number {
    return this.blockedUntil > now ? Math.ceil((this.blockedUntil - now) / 1000) : 0;
  }

  /** Whole seconds until a call may run again (at least 1 when none may). */
  private secondsUntilSlot(now: number): number {
    const oldest = this.starts[this.head];
    const untilOldestLeaves = oldest === undefined || this.inWindow() < this.settings.rateLimit.calls
      ? 0
      : Math.max(1, Math.ceil((oldest + this.windowMs() - now) / 1000));
    return Math.max(untilOldestLeaves, this.blockedSeconds(now));
  }

  private remaining(now: number): number {
    if (this.blockedSeconds(now) > 0) return 0;
    return Math.max(0, this.settings.rateLimit.calls - this.inWindow());
  }

  /** The subscription's other clients used the window up: nothing may run for `seconds`. */
  blockFor(now: number, seconds: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, now + seconds * 1000);
  }

  headers(now: number, running: number, toWaitSec: number): Record<string, string> {
    const remaining = this.remaining(now);
    return {
      'X-RateLimit-Limit': String(this.settings.rateLimit.calls),
      'X-RateLimit-Window-Sec': String(this.settings.rateLimit.windowSeconds),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-ToWait-Sec': String(remaining > 0 ? toWaitSec : Math.max(toWaitSec, this.secondsUntilSlot(now))),
      'X-Concurrency-Limit-Limit': String(this.settings.concurrencyLimit),
      'X-Concurrency-Limit-Running': String(running),
    };
  }

  snapshotHeaders(now: number): Record<string, string> {
    this.prune(now);
    return this.headers(now, this.running, 0);
  }

  tryAdmit(now: number): Admission {
    this.prune(now);
    if (this.running >= this.settings.concurrencyLimit) {
      return {
        admitted: false,
        code: '1960',
        callsToFinish: this.running - this.settings.concurrencyLimit + 1,
        headers: this.headers(now, this.running, 0),
      };
    }
    if (this.remaining(now) === 0) {
      const secondsToWait = this.secondsUntilSlot(now);
      return { admitted: false, code: '1965', secondsToWait, headers: this.headers(now, this.running, secondsToWait) };
    }
    this.starts.push(now);
    this.running++;
    let released = false;
    return {
      admitted: true,
      // "Calls running now, including this one" (reference §2.1).
      headers: this.headers(now, this.running, 0),
      release: () => {
        if (released) return;
        released = true;
        this.running--;
      },
    };
  }
}

/** One limiter per API endpoint, shared by all users (limits are per subscription and per API). */
export class ApiLimits {
  private readonly limiters = new Map<Endpoint, EndpointLimiter>();

  constructor(private readonly settings: LimitSettings) {}

  private limiter(endpoint: Endpoint): EndpointLimiter {
    let limiter = this.limiters.get(endpoint);
    if (!limiter) {
      limiter = new EndpointLimiter(this.settings);
      this.limiters.set(endpoint, limiter);
    }
    return limiter;
  }

  tryAdmit(endpoint: Endpoint, now = Date.now()): Admission {
    return this.limiter(endpoint).tryAdmit(now);
  }

  /** The headers as they stand, without admitting a call (for injected 409 faults). */
  headers(endpoint: Endpoint, now = Date.now()): Record<string, string> {
    return this.limiter(endpoint).snapshotHeaders(now);
  }

  /**
   * An injected 1965: the endpoint refuses every call for `seconds` from now, as if other clients of the
   * subscription had used its budget up. Returns the headers that refusal carries.
   */
  exhaustRate(endpoint: Endpoint, seconds: number, now = Date.now()): Record<string, string> {
    const limiter = this.limiter(endpoint);
    limiter.blockFor(now, seconds);
    return limiter.snapshotHeaders(now);
  }
}
