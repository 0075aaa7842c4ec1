import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../src/config/project-paths';
import { peakRssMiB, rssMiB } from './lanes';

/** Where a bench's worker connects: the dev server and its task queue, the simulator, the store. */
export interface WorkerSetting {
  temporalAddress: string;
  taskQueue: string;
  qualys: { url: string; username: string; password: string };
  dataDir: string;
  databaseUrl: string;
}

/** The connector's worker as it is deployed (`lib/src/worker/main.js`), in a process of its own. */
export interface WorkerProcess {
  /** Resident memory now, and the peak so far (MiB; Linux). */
  rssMiB(): number | undefined;
  peakRssMiB(): number | undefined;
  stop(): Promise<void>;
}

/** Starts the worker and resolves once it polls its task queue. */
export async function startWorkerProcess(setting: WorkerSetting): Promise<WorkerProcess> {
  const worker = spawn(process.execPath, [path.join(projectRoot(), 'lib', 'src', 'worker', 'main.js')], {
    env: {
      PATH: process.env.PATH,
      TEMPORAL_ADDRESS: setting.temporalAddress,
      TEMPORAL_TASK_QUEUE: setting.taskQueue,
      QUALYS_API_URL: setting.qualys.url,
      QUALYS_USERNAME: setting.qualys.username,
      QUALYS_PASSWORD: setting.qualys.password,
      QUALYS_CONNECTOR_DATA_DIR: setting.dataDir,
      DATABASE_URL: setting.databaseUrl,
      QUALYS_WORKER_LOG_LEVEL: 'INFO', // the bench waits for its "worker polling" line
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    worker.kill('SIGTERM');
    await exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      worker.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('worker polling')) resolve();
      });
      worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) before polling`)));
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    rssMiB: () => (worker.pid === undefined ? undefined : rssMiB(worker.pid)),
    peakRssMiB: () => (worker.pid === undefined ? undefined : peakRssMiB(worker.pid)),
    stop,
  };
}
