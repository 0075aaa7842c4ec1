import { ActivityFailure, ApplicationFailure, sleep } from '@temporalio/workflow';
import { RATE_LIMIT_WAIT_FAILURE, type RateLimitWait } from '../activities/failure-types';
import type { RateLimitWaitProgress } from './progress';

/**
 * Waits out long Qualys rate limits on durable timers. When any step learns that Qualys wants the run
 * to pause (a 1965 longer than an activity retry should hold), the gate closes for every lane: each
 * step waits for the same timer, then tries again. The Web UI shows the timer with its summary.
 */
export class RateLimitGate {
  private resumeAt = 0;
  private endpoint?: string;
  private sleeping?: Promise<void>;
  /** Seconds spent asleep on rate-limit timers. */
  waitedSeconds = 0;

  constructor(private readonly onWaitChange: (wait: RateLimitWaitProgress | undefined) => void) {}

  async run<T>(step: () => Promise<T>): Promise<T> {
    for (;;) {
      await this.passWhenOpen();
      try {
        return await step();
      } catch (err) {
        const wait = rateLimitWaitOf(err);
        if (!wait) throw err;
        this.resumeAt = Math.max(this.resumeAt, Date.now() + wait.waitSeconds * 1000);
        this.endpoint = wait.endpoint;
      }
    }
  }

  private async passWhenOpen(): Promise<void> {
    while (Date.now() < this.resumeAt) {
      this.sleeping ??= this.sleepUntil(this.resumeAt).finally(() => (this.sleeping = undefined));
      await this.sleeping;
    }
  }

  private async sleepUntil(resumeAt: number): Promise<void> {
    const until = new Date(resumeAt).toISOString();
    this.onWaitChange({ until, endpoint: this.endpoint });
    const ms = resumeAt - Date.now();
    await sleep(ms, { summary: `Qualys rate limit: waiting until ${until}` });
    this.waitedSeconds += Math.round(ms / 1000);
    this.onWaitChange(undefined);
  }
}

function rateLimitWaitOf(err: unknown): RateLimitWait | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return undefined;
  if (err.cause.type !== RATE_LIMIT_WAIT_FAILURE) return undefined;
  const [details] = (err.cause.details ?? []) as [RateLimitWait | undefined];
  return details && details.waitSeconds > 0 ? details : undefined;
}

/** Whether a step failed with our typed failure of this type. */
export function isFailureOfType(err: unknown, type: string): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === type;
}
