import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivityDeps } from './activity-deps';
import { createConnectorWorker } from './create-worker';
import { temporalSettingsFromEnv } from './temporal-settings';

// The production worker: reads its settings from the environment, serves the `qualys-connector` task
// queue until SIGINT/SIGTERM, then lets in-flight activities finish (shutdownGraceTime) before exiting.
async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger((process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO') });
  const settings = temporalSettingsFromEnv();
  const deps = createActivityDeps();
  const connection = await NativeConnection.connect(settings.connectionOptions);
  try {
    const worker = await createConnectorWorker({
      connection,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      deps,
    });
    console.error(
      `worker polling task queue "${settings.taskQueue}" on ${settings.address} (namespace ${settings.namespace}); ` +
        `connection profiles: ${deps.profiles.names().join(', ') || 'none configured'}`,
    );
    await worker.run();
  } finally {
    await connection.close();
    await deps.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
