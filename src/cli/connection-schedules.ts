import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleSpec } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { QUALYS_CONNECTION } from '../../temporal/search-attributes';
import { syncInputSchema, type SyncInput } from '../workflows/sync-input';

/**
 * One Temporal Schedule per connection: recurring `qualysSync` runs with overlap policy Skip (a run
 * still going when the next is due is not doubled), a catch-up window (a worker outage does not
 * replay a backlog of missed runs), and optional jitter (many connections do not all hit Qualys at once).
 */
export function scheduleId(connection: string): string {
  return `qualys-sync-${connection}`;
}

export interface ConnectionScheduleOptions {
  input: SyncInput;
  /** Every this long, e.g. "6h" (exclusive with cron). */
  every?: string;
  /** A cron expression, e.g. "0 3 * * *" for 03:00 daily (exclusive with every). */
  cron?: string;
  timeZone?: string;
  jitter?: string;
  catchupWindow?: string;
  paused?: boolean;
  note?: string;
}

export async function createConnectionSchedule(client: Client, taskQueue: string, options: ConnectionScheduleOptions): Promise<string> {
  const input = syncInputSchema.parse(options.input);
  if (Boolean(options.every) === Boolean(options.cron)) throw new Error('give exactly one of --every (e.g. 6h) or --cron (e.g. "0 */6 * * *")');
  const spec: ScheduleSpec = {
    ...(options.every ? { intervals: [{ every: duration('--every', options.every) }] } : { cronExpressions: [options.cron as string] }),
    ...(options.jitter ? { jitter: duration('--jitter', options.jitter) } : {}),
    ...(options.timeZone ? { timezone: options.timeZone } : {}),
  };
  const handle = await client.schedule.create({
    scheduleId: scheduleId(input.connection),
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: 'qualysSync',
      taskQueue,
      workflowId: scheduleId(input.connection),
      args: [input],
      typedSearchAttributes: [{ key: QUALYS_CONNECTION, value: input.connection }],
      staticSummary: `Qualys sync of connection ${input.connection} (${input.mode ?? 'auto'}${input.mode !== 'full' && input.fullEveryHours !== undefined ? `, full every ${input.fullEveryHours} h` : ''}, scheduled)`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: duration('--catchup-window', options.catchupWindow ?? '1h') },
    state: { paused: options.paused ?? false, note: options.note },
    typedSearchAttributes: [{ key: QUALYS_CONNECTION, value: input.connection }],
  });
  return handle.scheduleId;
}

/** A duration flag ("6h", "30m", "90s"), checked before it reaches Temporal. */
function duration(flag: string, value: string): Duration {
  try {
    const ms = msToNumber(value as Duration);
    if (!(ms > 0)) throw new Error('not positive');
  } catch {
    throw new Error(`${flag} must be a duration such as 6h, 30m or 90s, not "${value}"`);
  }
  return value as Duration;
}

export async function listConnectionSchedules(client: Client): Promise<Array<{ scheduleId: string; paused: boolean; next?: Date; note?: string }>> {
  const schedules = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith('qualys-sync-')) continue;
    schedules.push({ scheduleId: s.scheduleId, paused: s.state.paused, next: s.info?.nextActionTimes[0], note: s.state.note });
  }
  return schedules.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

export async function describeConnectionSchedule(client: Client, connection: string): Promise<ScheduleDescription> {
  return client.schedule.getHandle(scheduleId(connection)).describe();
}

export function formatSchedule(d: ScheduleDescription): string {
  const spec = [
    ...(d.spec.intervals ?? []).map((i) => `every ${String(i.every)}`),
    ...(d.spec.calendars?.length ? ['calendar'] : []),
  ].join(', ');
  const recent = d.info.recentActions.slice(-5).map((a) => `    ${a.takenAt.toISOString()}  ${a.action.workflow.workflowId}`);
  return [
    `schedule ${d.scheduleId}`,
    `  spec:            ${spec}${d.spec.jitter ? ` (jitter ${String(d.spec.jitter)})` : ''}`,
    `  state:           ${d.state.paused ? 'PAUSED' : 'active'}${d.state.note ? ` — ${d.state.note}` : ''}`,
    `  overlap policy:  ${d.policies.overlap} · catch-up window ${String(d.policies.catchupWindow)}`,
    `  runs started:    ${d.info.numActionsTaken} · skipped (overlap) ${d.info.numActionsSkippedOverlap} · missed catch-up window ${d.info.numActionsMissedCatchupWindow}`,
    `  running now:     ${d.info.runningActions.map((a) => a.workflow.workflowId).join(', ') || 'none'}`,
    `  next runs:       ${d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()).join(', ') || 'none'}`,
    `  recent runs:${recent.length ? `\n${recent.join('\n')}` : ' none'}`,
  ].join('\n');
}

export async function pauseConnectionSchedule(client: Client, connection: string, reason?: string): Promise<void> {
  await client.schedule.getHandle(scheduleId(connection)).pause(reason ?? 'paused with npm run schedule');
}

export async function unpauseConnectionSchedule(client: Client, connection: string, reason?: string): Promise<void> {
  await client.schedule.getHandle(scheduleId(connection)).unpause(reason ?? 'unpaused with npm run schedule');
}

/** Starts a run now; skipped, like any scheduled run, while one of this schedule's runs is going. */
export async function triggerConnectionSchedule(client: Client, connection: string): Promise<void> {
  await client.schedule.getHandle(scheduleId(connection)).trigger(ScheduleOverlapPolicy.SKIP);
}

export async function deleteConnectionSchedule(client: Client, connection: string): Promise<void> {
  await client.schedule.getHandle(scheduleId(connection)).delete();
}

export { ScheduleAlreadyRunning, ScheduleNotFoundError };
