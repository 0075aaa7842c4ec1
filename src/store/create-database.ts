import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Creates a new, empty database on the server of `serverUrl` and returns its URL (tests and benchmarks
 * give each run a clean store this way; the schema is applied when the store is opened).
 */
export async function createFreshDatabase(serverUrl: string, prefix = 'run'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const url = new URL(serverUrl);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}
