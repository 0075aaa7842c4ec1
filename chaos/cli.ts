import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { renderTable, summarise } from './report';
import { runSoak } from './soak';

const USAGE = `npm run chaos -- [options]

A soak of the connector under random faults: worker processes killed and paused, PostgreSQL and the
Temporal server restarted, Qualys answering 5xx, 409 bursts, resets and bodies cut short — while runs go
on against a Qualys simulator whose estate moves between runs. After every run the store is checked
against the simulator's truth (committed) or its state before the run (failed, cancelled).

  --seed N        the plan's seed (default: the current time); a failure reproduces with the same seed
  --runs N        runs (default 20)
  --workers N     worker processes, 1–3 (default 3)
  --hosts N       the simulated estate (default 60)
  --max-faults N  faults per run at most (default 3)
  --keep          keep the cluster's files (PostgreSQL, Temporal) for a look afterwards`;

const optionsSchema = z.object({
  seed: z.coerce.number().int().min(0).max(2 ** 31 - 1),
  runs: z.coerce.number().int().min(1).max(10_000),
  workers: z.coerce.number().int().min(1).max(3),
  hosts: z.coerce.number().int().min(1).max(10_000),
  maxFaults: z.coerce.number().int().min(1).max(10),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      runs: { type: 'string', default: '20' },
      workers: { type: 'string', default: '3' },
      hosts: { type: 'string', default: '60' },
      'max-faults': { type: 'string', default: '3' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const parsed = optionsSchema.safeParse({
    seed: values.seed ?? Date.now() % 2 ** 31,
    runs: values.runs,
    workers: values.workers,
    hosts: values.hosts,
    maxFaults: values['max-faults'],
  });
  if (!parsed.success) {
    console.error(`${parsed.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('\n')}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const o = parsed.data;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-chaos-'));
  console.log(`chaos: seed ${o.seed}, ${o.runs} runs, ${o.workers} workers, ${o.hosts} hosts (reproduce: npm run chaos -- --seed ${o.seed} --runs ${o.runs})`);
  const started = Date.now();
  // Ctrl-C stops the soak and its servers; a second one leaves at once.
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stop.signal.aborted) process.exit(130);
      console.log('stopping the soak (again to leave at once)…');
      stop.abort();
    });
  }
  try {
    const records = await runSoak({
      seed: o.seed,
      runs: o.runs,
      workers: o.workers,
      hosts: o.hosts,
      pageSize: 10,
      heartbeatTimeoutSeconds: 5,
      maxFaultsPerRun: o.maxFaults,
      stuckAfterMs: 10 * 60_000,
      dir,
      temporalCli: process.env.TEMPORAL_CLI,
      log: (line) => console.log(line),
      signal: stop.signal,
    });
    const summary = summarise(records);
    console.log(`\n${renderTable(summary, { seed: o.seed, workers: o.workers, hosts: o.hosts })}\n`);
    console.log(`${((Date.now() - started) / 60_000).toFixed(1)} min; reproduce: npm run chaos -- --seed ${o.seed} --runs ${o.runs}`);
    if (stop.signal.aborted) {
      console.log(`stopped by hand after ${records.length} of ${o.runs} runs: the verdict covers those only`);
      process.exitCode = 130;
    } else if (!summary.ok) process.exitCode = 1;
  } finally {
    if (values.keep) console.log(`files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exitCode = 1;
});
