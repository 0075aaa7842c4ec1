import { parseArgs } from 'node:util';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  createConnectionSchedule,
  deleteConnectionSchedule,
  describeConnectionSchedule,
  formatSchedule,
  listConnectionSchedules,
  pauseConnectionSchedule,
  scheduleId,
  triggerConnectionSchedule,
  unpauseConnectionSchedule,
} from './connection-schedules';
import { connectClient } from './temporal-client';
import type { SyncInput } from '../workflows/sync-input';

const USAGE = `npm run schedule -- <command> [options]

One Temporal Schedule per connection, starting qualysSync runs (overlap policy Skip).

  create    --connection NAME (--every 6h | --cron "0 3 * * *") [--jitter 10m] [--catchup-window 1h]
            [--time-zone Europe/Paris] [--page-size N] [--max-concurrency N] [--paused] [--note TEXT]
            [--mode auto|full|incremental] [--full-every 24h]
            Runs are incremental (hosts Qualys processed since the last run) and full once the last full
            run is older than --full-every (default 7d); --mode full makes every run full.
  list
  describe  --connection NAME
  pause     --connection NAME [--reason TEXT]
  unpause   --connection NAME [--reason TEXT]
  trigger   --connection NAME      start a run now (skipped while the schedule's run is going)
  delete    --connection NAME

Temporal settings come from TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, TEMPORAL_API_KEY,
TEMPORAL_TLS_* (as for the worker), or --address / --namespace.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      connection: { type: 'string' },
      every: { type: 'string' },
      cron: { type: 'string' },
      jitter: { type: 'string' },
      'catchup-window': { type: 'string' },
      'time-zone': { type: 'string' },
      'page-size': { type: 'string' },
      'max-concurrency': { type: 'string' },
      mode: { type: 'string' },
      'full-every': { type: 'string' },
      paused: { type: 'boolean', default: false },
      note: { type: 'string' },
      reason: { type: 'string' },
      address: { type: 'string' },
      namespace: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const connection = (): string => {
    if (!values.connection) throw new Error(`${command} needs --connection NAME`);
    return values.connection;
  };
  const int = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number, not "${value}"`);
    return n;
  };

  const { client, settings, close } = await connectClient({ address: values.address, namespace: values.namespace });
  try {
    switch (command) {
      case 'create': {
        const id = await createConnectionSchedule(client, settings.taskQueue, {
          input: {
            connection: connection(),
            pageSize: int('page-size', values['page-size']),
            maxConcurrency: int('max-concurrency', values['max-concurrency']),
            mode: runMode(values.mode),
            fullEveryHours: hours('full-every', values['full-every']),
          },
          every: values.every,
          cron: values.cron,
          jitter: values.jitter,
          catchupWindow: values['catchup-window'],
          timeZone: values['time-zone'],
          paused: values.paused,
          note: values.note,
        });
        console.log(`created schedule ${id} (task queue ${settings.taskQueue}, namespace ${settings.namespace})`);
        break;
      }
      case 'list': {
        const schedules = await listConnectionSchedules(client);
        if (schedules.length === 0) console.log('no connection schedules');
        for (const s of schedules) {
          console.log(`${s.scheduleId}  ${s.paused ? 'PAUSED' : 'active'}  next ${s.next?.toISOString() ?? '-'}${s.note ? `  (${s.note})` : ''}`);
        }
        break;
      }
      case 'describe':
        console.log(formatSchedule(await describeConnectionSchedule(client, connection())));
        break;
      case 'pause':
        await pauseConnectionSchedule(client, connection(), values.reason);
        console.log(`paused ${scheduleId(connection())}`);
        break;
      case 'unpause':
        await unpauseConnectionSchedule(client, connection(), values.reason);
        console.log(`unpaused ${scheduleId(connection())}`);
        break;
      case 'trigger':
        await triggerConnectionSchedule(client, connection());
        console.log(`triggered ${scheduleId(connection())} (skipped if its run is still going)`);
        break;
      case 'delete':
        await deleteConnectionSchedule(client, connection());
        console.log(`deleted ${scheduleId(connection())}`);
        break;
      default:
        console.error(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
    return 0;
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) {
      console.error(`schedule ${scheduleId(values.connection ?? '?')} exists already: see it with describe, or delete it first to change it`);
      return 1;
    }
    if (err instanceof ScheduleNotFoundError) {
      console.error(`no schedule ${scheduleId(values.connection ?? '?')}: create it with npm run schedule -- create --connection ${values.connection ?? 'NAME'} --every 6h`);
      return 1;
    }
    throw err;
  } finally {
    await close();
  }
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);

function runMode(value: string | undefined): SyncInput['mode'] {
  if (value === undefined) return undefined;
  if (value === 'auto' || value === 'full' || value === 'incremental') return value;
  throw new Error(`--mode must be auto, full or incremental, not "${value}"`);
}

/** "90m", "24h", "7d" → hours. */
function hours(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(m|h|d)$/.exec(value.trim());
  if (!match) throw new Error(`--${name} must be a duration like 90m, 24h or 7d, not "${value}"`);
  return Number(match[1]) * ({ m: 1 / 60, h: 1, d: 24 } as const)[match[2] as 'm' | 'h' | 'd'];
}
