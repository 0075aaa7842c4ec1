import { Client, Connection } from '@temporalio/client';
import { temporalSettingsFromEnv, type TemporalSettings } from '../worker/temporal-settings';

/** A Temporal client for the project's commands, from the same settings as the worker (env, then flags). */
export async function connectClient(overrides: Partial<Pick<TemporalSettings, 'address' | 'namespace'>> = {}): Promise<{
  client: Client;
  settings: TemporalSettings;
  close(): Promise<void>;
}> {
  const fromEnv = temporalSettingsFromEnv();
  const settings: TemporalSettings = {
    ...fromEnv,
    ...overrides,
    connectionOptions: { ...fromEnv.connectionOptions, address: overrides.address ?? fromEnv.address },
  };
  const connection = await Connection.connect(settings.connectionOptions);
  return { client: new Client({ connection, namespace: settings.namespace }), settings, close: () => connection.close() };
}
