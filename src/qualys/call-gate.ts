import type { QualysEndpoint } from './endpoints';
import type { SubscriptionLimits } from './schemas';

/**
 * A hook around every HTTP call of a client, for limits shared beyond this process (the client itself
 * never waits or retries). `enter` runs before the request is sent: it may wait (honouring the signal)
 * or refuse with a QualysError — a refusal is not a call and is not reported to `onCall`. `leave` runs
 * once the response has been read (or the call failed), with what it said about the limits.
 */
export interface CallGate {
  enter(endpoint: QualysEndpoint, signal?: AbortSignal): Promise<CallPass>;
}

export interface CallPass {
  /** Must not throw. */
  leave(outcome: CallOutcome): Promise<void>;
  /**
   * When the pass can lapse before the call ends (a slot held on a lease): `check` throws the QualysError
   * to fail with once it has lapsed (the client calls it right before sending), and `signal` aborts with
   * that error (the call in flight is abandoned).
   */
  lease?: { signal: AbortSignal; check(): void };
}

export interface CallOutcome {
  /** The limit headers of the response, when it had any. */
  limits?: SubscriptionLimits;
  /** SECONDS_TO_WAIT of a 1965 refusal, whose headers may lack X-RateLimit-ToWait-Sec. */
  refusedWaitSeconds?: number;
}

/** Whose limits a client's calls count against: Qualys counts per subscription (and per API). */
export interface QualysSubscription {
  /** The resolved API base URL. */
  baseUrl: string;
  username: string;
}

/** Builds the gate of one client, once it knows its subscription. */
export type CallGateFactory = (subscription: QualysSubscription) => CallGate;
