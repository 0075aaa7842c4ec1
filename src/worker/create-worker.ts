import { existsSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createLockActivities } from '../activities/lock-activities';
import { createSyncActivities, type SyncActivityDeps } from '../activities/sync-activities';
import { projectRoot } from '../config/project-paths';

export interface ConnectorWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: SyncActivityDeps;
  /** A prebuilt bundle (from `npm run build`, or bundled once by the test harness). */
  workflowBundlePath?: string;
  /** Extra Worker options (shutdown grace time, concurrency …). */
  tuning?: Partial<Pick<WorkerOptions, 'shutdownGraceTime' | 'maxConcurrentActivityTaskExecutions' | 'identity'>>;
}

/** The compiled bundle `npm run build` writes; production workers load it instead of bundling at start. */
export function defaultWorkflowBundlePath(): string {
  return path.join(projectRoot(), 'lib', 'workflow-bundle.js');
}

export async function createConnectorWorker(options: ConnectorWorkerOptions): Promise<Worker> {
  const bundlePath = options.workflowBundlePath ?? defaultWorkflowBundlePath();
  const workflows = existsSync(bundlePath)
    ? { workflowBundle: { codePath: bundlePath } }
    : { workflowsPath: path.join(projectRoot(), 'src', 'workflows', 'index.ts') };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: { ...createSyncActivities(options.deps), ...createLockActivities() },
    ...workflows,
    shutdownGraceTime: '30s',
    // Heartbeats carry cancellations back: a cancelled run's Qualys call is aborted within seconds.
    maxHeartbeatThrottleInterval: '5s',
    ...options.tuning,
  });
}
