import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ConnectionOptions } from '@temporalio/client';
import { ConfigError } from '../config/errors';

export const TASK_QUEUE = 'qualys-connector';

// How this process reaches Temporal. The variable names are the Temporal CLI's own, so one shell
// environment serves both `temporal …` commands and the worker.
const temporalEnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default(TASK_QUEUE),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS: z.enum(['true', 'false', '1', '0']).optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
});

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  connectionOptions: Pick<ConnectionOptions, 'address' | 'tls' | 'apiKey'> & { apiKey?: string };
}

export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const parsed = temporalEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`Temporal settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  const hasCert = Boolean(e.TEMPORAL_TLS_CLIENT_CERT_PATH || e.TEMPORAL_TLS_CLIENT_KEY_PATH);
  if (hasCert && !(e.TEMPORAL_TLS_CLIENT_CERT_PATH && e.TEMPORAL_TLS_CLIENT_KEY_PATH)) {
    throw new ConfigError('mTLS needs both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH.');
  }
  const tlsWanted = hasCert || Boolean(e.TEMPORAL_TLS_SERVER_CA_CERT_PATH) || e.TEMPORAL_TLS === 'true' || e.TEMPORAL_TLS === '1';
  const tls = tlsWanted
    ? {
        serverNameOverride: e.TEMPORAL_TLS_SERVER_NAME,
        serverRootCACertificate: e.TEMPORAL_TLS_SERVER_CA_CERT_PATH ? readPem(e.TEMPORAL_TLS_SERVER_CA_CERT_PATH) : undefined,
        clientCertPair: hasCert
          ? { crt: readPem(e.TEMPORAL_TLS_CLIENT_CERT_PATH as string), key: readPem(e.TEMPORAL_TLS_CLIENT_KEY_PATH as string) }
          : undefined,
      }
    : undefined;
  return {
    address: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    // An API key turns TLS on by itself (Temporal Cloud).
    connectionOptions: { address: e.TEMPORAL_ADDRESS, tls, apiKey: e.TEMPORAL_API_KEY },
  };
}

function readPem(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`Cannot read ${file}: ${(err as Error).message}`);
  }
}
