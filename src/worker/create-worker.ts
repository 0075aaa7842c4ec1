import { existsSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createLockActivities } from '../activities/lock-activities';
import { createSyncActivities, type SyncActivityDeps } from '../activities/sync-activities';
import { projectRoot } from '../config/project-paths';
import { WORKFLOW_TRACING_MODULE, untracedWorkerOptions, type TracingWorkerOptions } from '../telemetry/tracing';

export interface ConnectorWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: SyncActivityDeps;
  /** A prebuilt bundle (from `npm run build`, or bundled once by the test harness). */
  workflowBundlePath?: string;
  /** Traces runs (see src/telemetry/tracing.ts); without it the workflow's spans are dropped. */
  tracing?: TracingWorkerOptions;
  /** Extra Worker options (shutdown grace time, concurrency …). */
  tuning?: Partial<Pick<WorkerOptions, 'shutdownGraceTime' | 'maxConcurrentActivityTaskExecutions' | 'identity'>>;
}

/** The compiled bundle `npm run build` writes; production workers load it instead of bundling at start. */
export function defaultWorkflowBundlePath(): string {
  return path.join(projectRoot(), 'lib', 'workflow-bundle.js');
}

export async function createConnectorWorker(options: ConnectorWorkerOptions): Promise<Worker> {
  const bundlePath = options.workflowBundlePath ?? defaultWorkflowBundlePath();
  const bundled = existsSync(bundlePath);
  const workflows = bundled ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: path.join(projectRoot(), 'src', 'workflows', 'index.ts') };
  const tracing = options.tracing ?? untracedWorkerOptions();
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: { ...createSyncActivities(options.deps), ...createLockActivities() },
    ...workflows,
    sinks: tracing.sinks,
    // The prebuilt bundle has the workflow's tracing interceptor in it (build-workflow-bundle.ts).
    interceptors: { ...tracing.interceptors, workflowModules: bundled ? undefined : [WORKFLOW_TRACING_MODULE] },
    shutdownGraceTime: '30s',
    // Heartbeats carry cancellations back: a cancelled run's Qualys call is aborted within seconds.
    maxHeartbeatThrottleInterval: '5s',
    ...options.tuning,
  });
}
