import { storeCallGate } from '../activities/qualys-call-gate';
import type { QualysApi, SyncActivityDeps } from '../activities/sync-activities';
import { ConnectionProfiles, type ConnectionProfile } from '../config/connections';
import { SecretMasker, proxySecrets } from '../config/secrets';
import { defaultDataDir } from '../config/project-paths';
import { QualysClient } from '../qualys/client';
import { openStore, type OpenedStore } from '../store/open-store';

export interface ActivityDepsOptions {
  profiles?: ConnectionProfiles;
  /** A PostgreSQL URL; default DATABASE_URL from `env`, else the embedded server of the data directory. */
  databaseUrl?: string;
  dataDir?: string;
  /** Where profiles, DATABASE_URL and the data directory come from when not given (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** A store the caller opened already (and closes itself). */
  store?: OpenedStore;
}

export interface ActivityDeps extends SyncActivityDeps {
  /** Where the store is (password masked), for the worker's start line. */
  storeLocation: string;
  /** Masks every secret the worker holds (Qualys, proxy and database credentials) in logs and messages. */
  masker: SecretMasker;
  close(): Promise<void>;
}

/**
 * Wires the activities' dependencies: profiles, the exposure store (opened and migrated here, so a bad
 * DATABASE_URL stops the worker at start), one Qualys client per profile.
 */
export async function openActivityDeps(options: ActivityDepsOptions = {}): Promise<ActivityDeps> {
  const env = options.env ?? process.env;
  const profiles = options.profiles ?? ConnectionProfiles.fromEnvironment(env);
  const opened =
    options.store ??
    (await openStore({
      databaseUrl: options.databaseUrl ?? (env.DATABASE_URL || undefined),
      dataDir: options.dataDir ?? env.QUALYS_CONNECTOR_DATA_DIR ?? defaultDataDir(),
    }));
  // One client (and so one keep-alive pool) per profile, shared by every activity on this worker. Every
  // call passes the store's guard: concurrency slots and rate budgets shared by all workers.
  const masker = new SecretMasker([...profiles.secrets(), ...proxySecrets(env), ...opened.secrets]);
  const gate = storeCallGate(opened.apiGuard);
  const clients = new Map<string, QualysClient>();
  const qualys = (profile: ConnectionProfile): QualysApi => {
    let client = clients.get(profile.name);
    if (!client) {
      client = new QualysClient(
        { apiUrl: profile.apiUrl, username: profile.username, password: profile.password, caFile: profile.caFile },
        { gate },
      );
      clients.set(profile.name, client);
    }
    return client;
  };
  return {
    profiles,
    store: opened.store,
    storeLocation: opened.location,
    qualys,
    masker,
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close()));
      if (!options.store) await opened.close();
    },
  };
}
