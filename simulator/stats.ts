/** What the simulator served: calls per endpoint, errors by kind, peak concurrency, a bounded request log. */
import { ENDPOINTS, type Endpoint, type RequestLogEntry, type SimulatorStats } from './types';

/** The request log keeps the most recent entries only. */
export const REQUEST_LOG_LIMIT = 200_000;

function perEndpoint(): Record<Endpoint, number> {
  return Object.fromEntries(ENDPOINTS.map((e) => [e, 0])) as Record<Endpoint, number>;
}

export class StatsRecorder {
  private calls = perEndpoint();
  private errorsServed: Record<string, number> = {};
  private inFlight = 0;
  private inFlightByEndpoint = perEndpoint();
  private peakInFlight = 0;
  private peakInFlightByEndpoint = perEndpoint();
  /** Ring buffer: `log[(start + i) % limit]`. */
  private log: RequestLogEntry[] = [];
  private logStart = 0;

  constructor(private readonly logLimit = REQUEST_LOG_LIMIT) {}

  /** A call arrived; returns the function to call once its response has ended. */
  begin(endpoint: Endpoint): () => void {
    this.calls[endpoint]++;
    this.inFlight++;
    this.inFlightByEndpoint[endpoint]++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    this.peakInFlightByEndpoint[endpoint] = Math.max(this.peakInFlightByEndpoint[endpoint], this.inFlightByEndpoint[endpoint]);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight--;
      this.inFlightByEndpoint[endpoint]--;
    };
  }

  record(entry: RequestLogEntry, errorKey: string | undefined): void {
    if (errorKey !== undefined) this.errorsServed[errorKey] = (this.errorsServed[errorKey] ?? 0) + 1;
    if (this.log.length < this.logLimit) {
      this.log.push(entry);
    } else {
      this.log[this.logStart] = entry;
      this.logStart = (this.logStart + 1) % this.logLimit;
    }
  }

  snapshot(): SimulatorStats {
    return {
      calls: { ...this.calls },
      errorsServed: { ...this.errorsServed },
      peakInFlight: this.peakInFlight,
      peakInFlightByEndpoint: { ...this.peakInFlightByEndpoint },
      requests: [...this.log.slice(this.logStart), ...this.log.slice(0, this.logStart)],
    };
  }

  /** Zeroes the counters and the log; calls still in flight keep counting towards the new peaks. */
  reset(): void {
    this.calls = perEndpoint();
    this.errorsServed = {};
    this.peakInFlight = this.inFlight;
    this.peakInFlightByEndpoint = { ...this.inFlightByEndpoint };
    this.log = [];
    this.logStart = 0;
  }
}
