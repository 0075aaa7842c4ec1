import { ActivityFailure, ApplicationFailure, sleep } from '@temporalio/workflow';
import { failureKindOf, type RateLimitWait } from '../contracts/failure-table';
import type { RateLimitWaitProgress } from './run-state';

/**
 * Waits out long Qualys rate limits on durable timers. When any step learns that Qualys wants the run
 * to pause (a 1965 longer than an activity retry should hold: any failure the failure table answers with
 * a wait), the gate closes for every lane: each step waits for the same timer, then tries again. The
 * Web UI shows the timer with its summary.
 */
export class RateLimitGate {
  private resumeAt = 0;
  private endpoint?: string;
  private waitingFor = '';
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
        const asked = requestedWaitOf(err);
        if (!asked) throw err;
        this.resumeAt = Math.max(this.resumeAt, Date.now() + asked.wait.waitSeconds * 1000);
        this.endpoint = asked.wait.endpoint;
        this.waitingFor = asked.timerSummary;
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
    await sleep(ms, { summary: `${this.waitingFor}: waiting until ${until}` });
    this.waitedSeconds += Math.round(ms / 1000);
    this.onWaitChange(undefined);
  }
}

/** The wait a step's failure asks of the workflow, and what its timer says it waits for; undefined for any other failure. */
function requestedWaitOf(err: unknown): { wait: RateLimitWait; timerSummary: string } | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return undefined;
  const kind = failureKindOf(err.cause.type);
  if (kind?.retry !== 'rate-limit-wait') return undefined;
  const [wait] = (err.cause.details ?? []) as [RateLimitWait | undefined];
  return wait && wait.waitSeconds > 0 ? { wait, timerSummary: kind.timerSummary } : undefined;
}
