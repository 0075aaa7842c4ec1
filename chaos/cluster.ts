import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { startSimulator, type RunningSimulator } from '../simulator';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../src/store/embedded-server';
import { freePort, startDevServer, type DevServerOptions, type RunningDevServer } from '../temporal/dev-server';
import { ChaosWorker } from './worker-process';

/** The workers' profile from QUALYS_API_URL / QUALYS_USERNAME / QUALYS_PASSWORD. */
export const CHAOS_CONNECTION = 'default';
export const CHAOS_TASK_QUEUE = 'chaos';

export interface ClusterOptions {
  /** Where PostgreSQL's cluster, Temporal's SQLite file and the workers' data directories go. */
  dir: string;
  workers: number;
  hosts: number;
  seed: number;
  temporalCli?: string;
}

/**
 * Everything the soak runs on: one PostgreSQL (the embedded server, on a directory of its own so it can be
 * stopped and started), one Temporal dev server on a SQLite file and a fixed port (so it comes back where
 * the workers left it), the Qualys simulator, and the worker processes.
 */
export class ChaosCluster {
  private constructor(
    readonly sim: RunningSimulator,
    readonly databaseUrl: string,
    readonly client: Client,
    readonly workers: ChaosWorker[],
    private readonly connection: Connection,
    private readonly pgDir: string,
    private readonly pgPort: number,
    private readonly temporalOptions: DevServerOptions,
    private temporal: RunningDevServer | undefined,
  ) {}

  static async start(options: ClusterOptions): Promise<ChaosCluster> {
    mkdirSync(options.dir, { recursive: true });
    // The server runs as the postgres OS user when the soak runs as root.
    chmodSync(options.dir, 0o755);
    const pgDir = path.join(options.dir, 'postgres');
    const postgres = await ensureEmbeddedPostgres(pgDir);
    const temporalOptions: DevServerOptions = {
      cliPath: options.temporalCli,
      port: await freePort(),
      uiPort: false,
      dbFile: path.join(options.dir, 'temporal', 'temporal.db'),
      logLevel: 'error',
      stdio: 'ignore',
    };
    const temporal = await startDevServer(temporalOptions);
    // A rate budget no soak spends: the faults under test are outages, not a subscription's hourly budget.
    const sim = await startSimulator({ hosts: options.hosts, seed: options.seed, latencyMs: 150, rateLimit: { calls: 1_000_000, windowSeconds: 3600 } });
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace });
    const workers = Array.from({ length: options.workers }, (_, i) => {
      const dataDir = path.join(options.dir, `worker-${i}`);
      mkdirSync(dataDir, { recursive: true });
      return new ChaosWorker(`worker-${i}`, {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: temporal.namespace,
        TEMPORAL_TASK_QUEUE: CHAOS_TASK_QUEUE,
        QUALYS_API_URL: sim.url,
        QUALYS_USERNAME: sim.username,
        QUALYS_PASSWORD: sim.password,
        DATABASE_URL: postgres.url,
        QUALYS_CONNECTOR_DATA_DIR: dataDir,
        QUALYS_WORKER_SHUTDOWN_GRACE: '1s',
        QUALYS_WORKER_LOG_FORMAT: 'text',
        QUALYS_WORKER_LOG_LEVEL: 'INFO',
      });
    });
    const cluster = new ChaosCluster(sim, postgres.url, client, workers, connection, pgDir, postgres.port, temporalOptions, temporal);
    try {
      await Promise.all(workers.map((w) => w.start()));
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** PostgreSQL stopped (fast: open transactions rolled back) for `ms`, then started on the same port. */
  async restartPostgres(ms: number): Promise<void> {
    await stopEmbeddedPostgres(this.pgDir);
    await sleep(ms);
    await ensureEmbeddedPostgres(this.pgDir, { port: this.pgPort });
  }

  /** The Temporal dev server stopped for `ms`, then started again on its SQLite file and port. */
  async restartTemporal(ms: number): Promise<void> {
    await this.temporal?.stop();
    this.temporal = undefined;
    await sleep(ms);
    this.temporal = await startDevServer(this.temporalOptions);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await this.connection.close().catch(() => undefined);
    await this.sim.close();
    await this.temporal?.stop();
    await stopEmbeddedPostgres(this.pgDir);
  }
}
