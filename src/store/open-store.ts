import path from 'node:path';
import { Pool } from 'pg';
import { SecretMasker, redactUrl, urlSecrets } from '../config/secrets';
import { ApiGuard } from './api-guard';
import { ApiSlots } from './api-slots';
import { ensureEmbeddedPostgres } from './embedded-server';
import { StoreUnavailableError } from './errors';
import type { ExposureStore } from './exposure-store';
import { TracedExposureStore } from './traced-store';
import { migrate } from './migrations';

export interface OpenedStore {
  store: ExposureStore;
  /** The Qualys API limits every worker shares (concurrency slots, rate budgets), on its own connections. */
  apiGuard: ApiGuard;
  /** Where the store is, for people: the URL with its password (user-info or `?password=`) masked. */
  location: string;
  /** The database password (wherever the URL or PGPASSWORD carries it), for log masking; never print it. */
  secrets: string[];
  /** Closes the pool, and stops the embedded server if this process started it. */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** A PostgreSQL URL (DATABASE_URL); without it, the embedded server of `dataDir` is used. */
  databaseUrl?: string;
  /** The project's data directory; the embedded server keeps its files in `<dataDir>/postgres`. */
  dataDir: string;
  /** The longest lease of a Qualys API slot (default DEFAULT_SLOT_LEASE_MS; a step's heartbeat timeout shortens it). */
  slotLeaseMs?: number;
}

/**
 * Opens the exposure store: connects (any PostgreSQL ≥ 14 named by DATABASE_URL, or the embedded one,
 * started on demand), applies the schema migrations, and fails at once with one line saying what is
 * wrong with the database settings and what to do.
 */
export async function openStore(options: StoreOptions): Promise<OpenedStore> {
  const embedded = options.databaseUrl ? undefined : await ensureEmbeddedPostgres(path.join(options.dataDir, 'postgres'));
  const url = options.databaseUrl ?? embedded?.url ?? '';
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (!['postgres:', 'postgresql:'].includes(parsed.protocol)) throw new Error('not a postgres URL');
  } catch {
    throw new StoreUnavailableError(
      'DATABASE_URL is not a PostgreSQL URL. Write it as postgres://USER:PASSWORD@HOST:5432/DATABASE (add ?sslmode=require for TLS), or unset it to use the embedded PostgreSQL.',
    );
  }
  const secrets = [...urlSecrets(url), ...(process.env.PGPASSWORD ? [process.env.PGPASSWORD] : [])];
  const location = redactUrl(parsed);
  const pool = new Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 15_000, application_name: 'qualys-connector' });
  // An idle client whose server went away must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
    const { rows } = await pool.query<{ server_version_num: string }>('SHOW server_version_num');
    if (Number(rows[0]?.server_version_num) < 140000) {
      throw new StoreUnavailableError(`The PostgreSQL at ${location} is older than 14; the connector needs PostgreSQL 14 or later.`);
    }
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    const masker = new SecretMasker(secrets);
    if (err instanceof StoreUnavailableError) throw new StoreUnavailableError(masker.mask(err.message));
    throw new StoreUnavailableError(masker.mask(describeConnectError(err, parsed, location)));
  }
  const slots = new ApiSlots({ connectionString: url, canceller: pool, leaseMs: options.slotLeaseMs });
  return {
    store: new TracedExposureStore(pool),
    apiGuard: new ApiGuard(slots),
    location,
    secrets,
    close: async () => {
      await slots.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/** One line: which part of the database settings is wrong, and what to do. Never the password (the caller masks it too). */
export function describeConnectError(err: unknown, url: URL, location: string): string {
  const code = (err as { code?: string }).code ?? '';
  const host = url.hostname;
  const port = url.port || '5432';
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username);
  const user = decodeURIComponent(url.username);
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `Cannot reach the store: the host "${host}" in DATABASE_URL does not resolve (${location}). Check the host name.`;
    case 'ECONNREFUSED':
      return `Cannot reach the store: nothing accepts connections at ${host}:${port} (${location}). Is PostgreSQL running there, on that port?`;
    case 'ETIMEDOUT':
      return `Cannot reach the store: ${host}:${port} did not answer in time (${location}). Check the host, the port and any firewall between.`;
    case '28P01':
    case '28000':
      return `The store refused the login of user "${user}" (${location}): wrong password or user. Check the user and password in DATABASE_URL.`;
    case '3D000':
      return `The database "${database}" does not exist on ${host}:${port} (${location}). Create it (CREATE DATABASE ${database}) or fix the database name in DATABASE_URL.`;
    case '42501':
      return `User "${user}" may not create the connector's tables in "${database}" (${location}). Grant it CREATE on the database, or use the owner.`;
    default: {
      const message = err instanceof Error ? err.message : String(err);
      if (/timeout/i.test(message)) {
        return `Cannot reach the store: ${host}:${port} did not answer in time (${location}). Check the host, the port and any firewall between.`;
      }
      return `The store at ${location} cannot be used: ${message}`;
    }
  }
}
