import path from 'node:path';
import type { QualysApi, SyncActivityDeps } from '../activities/sync-activities';
import { ConnectionProfiles, type ConnectionProfile } from '../config/connections';
import { defaultDataDir } from '../config/project-paths';
import { QualysClient } from '../qualys/client';
import { JsonlSink } from '../sinks/jsonl-sink';

export interface ActivityDepsOptions {
  profiles?: ConnectionProfiles;
  dataDir?: string;
  /** Where profiles and the data directory come from when not given (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Wires the activities' dependencies: profiles, the embedded sink, staging, one Qualys client per profile. */
export function createActivityDeps(options: ActivityDepsOptions = {}): SyncActivityDeps & { close(): Promise<void> } {
  const dataDir = options.dataDir ?? options.env?.QUALYS_CONNECTOR_DATA_DIR ?? defaultDataDir();
  // One client (and so one keep-alive pool) per profile, shared by every activity on this worker.
  const clients = new Map<string, QualysClient>();
  const qualys = (profile: ConnectionProfile): QualysApi => {
    let client = clients.get(profile.name);
    if (!client) {
      client = new QualysClient({ apiUrl: profile.apiUrl, username: profile.username, password: profile.password, caFile: profile.caFile });
      clients.set(profile.name, client);
    }
    return client;
  };
  return {
    profiles: options.profiles ?? ConnectionProfiles.fromEnvironment(options.env),
    sink: new JsonlSink(path.join(dataDir, 'output')),
    stagingDir: path.join(dataDir, 'staging'),
    qualys,
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close()));
    },
  };
}
