/**
 * Standalone runner:
 *   node lib/simulator/cli.js [--host 127.0.0.1] [--port 0] [--hosts 5000] [--seed 1] [--concurrency 2]
 *     [--rate 300/3600] [--latency-ms N] [--latency-per-kb-ms N] [--detections-per-host N] [--truncation-limit N]
 *     [--profile realistic|minimal] [--transport chunks|pieces]
 * Prints the URL and the demo credentials, and stops cleanly on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { parseProfile } from './profile';
import { startSimulator } from './server';
import type { SimulatorOptions } from './types';

const USAGE = `Usage: node lib/simulator/cli.js [options]
  --host <addr>                 listen address (default 127.0.0.1)
  --port <n>                    port, 0 = random free port (default 0)
  --hosts <n>                   estate size (default 200)
  --seed <n>                    estate seed (default 1)
  --detections-per-host <n>     average detections per host (default 8)
  --concurrency <n>             concurrent calls per API endpoint (default 2)
  --rate <calls>/<seconds>      rate limit per API endpoint (default 300/3600)
  --latency-ms <n>              time to the first byte of every answer (default 0)
  --latency-per-kb-ms <n>       then the body streams at this many ms per KiB (default 0)
  --truncation-limit <n>        default Host List / HLD page size (default 1000)
  --profile <name>              content: realistic (default, or $QUALYS_SIM_PROFILE) or minimal
  --transport <mode>            bodies as the profile writes them (chunks, default), or uncompressed in 1-9 byte pieces
  --help                        show this text`;

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${value}"`);
  return n;
}

function rateOption(value: string | undefined): SimulatorOptions['rateLimit'] {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  if (!match) throw new Error(`--rate must look like 300/3600 (calls/seconds), got "${value}"`);
  return { calls: Number(match[1]), windowSeconds: Number(match[2]) };
}

export function parseCliOptions(argv: string[]): SimulatorOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      hosts: { type: 'string' },
      seed: { type: 'string' },
      'detections-per-host': { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      'latency-ms': { type: 'string' },
      'latency-per-kb-ms': { type: 'string' },
      'truncation-limit': { type: 'string' },
      profile: { type: 'string' },
      transport: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  return {
    host: values.host,
    port: numberOption('port', values.port),
    hosts: numberOption('hosts', values.hosts),
    seed: numberOption('seed', values.seed),
    detectionsPerHost: numberOption('detections-per-host', values['detections-per-host']),
    concurrencyLimit: numberOption('concurrency', values.concurrency),
    rateLimit: rateOption(values.rate),
    latencyMs: numberOption('latency-ms', values['latency-ms']),
    latencyPerKbMs: numberOption('latency-per-kb-ms', values['latency-per-kb-ms']),
    truncationLimit: numberOption('truncation-limit', values['truncation-limit']),
    profile: values.profile === undefined ? undefined : parseProfile(values.profile, '--profile'),
    transport: transportOption(values.transport),
  };
}

function transportOption(value: string | undefined): SimulatorOptions['transport'] {
  if (value === undefined || value === 'chunks' || value === 'pieces') return value;
  throw new Error(`--transport must be chunks or pieces, got "${value}"`);
}

async function main(): Promise<void> {
  let options: SimulatorOptions | 'help';
  try {
    options = parseCliOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const simulator = await startSimulator(options);
  process.stdout.write(
    `Qualys simulator listening on ${simulator.url}  user=${simulator.username} password=${simulator.password}\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`Received ${signal}, stopping the Qualys simulator.\n`);
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (require.main === module) {
  void main();
}
