import { Client, type ClientConfig } from 'pg';
import { z } from 'zod';

/**
 * The embedded server's roles. A superuser can read any file the server's OS user can
 * (`pg_read_file('/proc/…/environ')`) and run commands (`COPY … TO PROGRAM`), so the connector never
 * logs in as one: the cluster's bootstrap superuser has its own random password, kept in a 0600 file
 * and used only here, and the connector's login role may create databases (it owns the ones it
 * creates, and so their `public` schema) and nothing more.
 */
export const roleLoginSchema = z.object({ user: z.string().min(1), password: z.string().min(1) });
export type RoleLogin = z.infer<typeof roleLoginSchema>;

/** The role a cluster created before the connector had its own role was bootstrapped with, renamed. */
export const RETIRED_BOOTSTRAP_ROLE = 'qualys_retired_bootstrap';

// The databases initdb creates: they stay the bootstrap superuser's.
const SYSTEM_DATABASES = ['postgres', 'template0', 'template1'];

// The bootstrap superuser always has this OID; it cannot lose SUPERUSER, only its name and its login.
const BOOTSTRAP_SUPERUSER_OID = 10;

async function withAdmin<T>(port: number, login: RoleLogin, database: string, body: (client: Client) => Promise<T>): Promise<T> {
  const config: ClientConfig = { host: '127.0.0.1', port, user: login.user, password: login.password, database };
  const client = new Client(config);
  await client.connect();
  try {
    // Statements here carry passwords: never into the server log, not even when one fails.
    await client.query(`SET log_statement = 'none'`);
    await client.query(`SET log_min_error_statement = 'panic'`);
    return await body(client);
  } finally {
    await client.end();
  }
}

/**
 * Makes `connector` a plain login role (LOGIN, CREATEDB, its password) and hands it every database it
 * should own: those the retired bootstrap role owns from a cluster of an earlier version (and what is
 * in them). Idempotent: run at each start, it does nothing once the roles are right.
 */
export async function ensureConnectorRole(port: number, superuser: RoleLogin, connector: RoleLogin): Promise<void> {
  const toHandOver = await withAdmin(port, superuser, 'postgres', async (admin) => {
    const { rows } = await admin.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = $1', [connector.user]);
    const role = admin.escapeIdentifier(connector.user);
    const password = admin.escapeLiteral(connector.password);
    const attributes = 'LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS';
    if (rows.length === 0) await admin.query(`CREATE ROLE ${role} ${attributes} PASSWORD ${password}`);
    else if (rows[0]?.rolsuper) await admin.query(`ALTER ROLE ${role} ${attributes}`);
    const owned = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datdba = $1 AND NOT (datname = ANY($2)) ORDER BY datname',
      [BOOTSTRAP_SUPERUSER_OID, SYSTEM_DATABASES],
    );
    return owned.rows.map((r) => r.datname);
  });
  for (const database of toHandOver) await handOverDatabase(port, superuser, database, connector.user);
}

/**
 * A cluster of an earlier version was bootstrapped with `connector` itself as its superuser. Logged in
 * as it one last time, this creates the separate superuser, then (as that one) renames the old role out
 * of the way and takes its login away; `ensureConnectorRole` then creates the new `connector` and hands
 * it the databases. Sessions of the old role (workers of the earlier version) are ended: they
 * reconnect as the new, unprivileged role.
 */
export async function retireBootstrapConnector(port: number, legacy: RoleLogin, superuser: RoleLogin): Promise<void> {
  try {
    await withAdmin(port, legacy, 'postgres', async (admin) => {
      const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [superuser.user]);
      const verb = exists.rowCount === 0 ? 'CREATE' : 'ALTER';
      await admin.query(`${verb} ROLE ${admin.escapeIdentifier(superuser.user)} SUPERUSER LOGIN PASSWORD ${admin.escapeLiteral(superuser.password)}`);
    });
  } catch (err) {
    // An upgrade cut short after this step: the old role has no login any more, the superuser has.
    if (!['28P01', '28000'].includes((err as { code?: string }).code ?? '')) throw err;
  }
  await withAdmin(port, superuser, 'postgres', async (admin) => {
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usesysid = $1 AND pid <> pg_backend_pid()', [
      BOOTSTRAP_SUPERUSER_OID,
    ]);
    const { rows } = await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE oid = $1', [BOOTSTRAP_SUPERUSER_OID]);
    const retired = admin.escapeIdentifier(RETIRED_BOOTSTRAP_ROLE);
    if (rows[0]?.rolname === legacy.user) await admin.query(`ALTER ROLE ${admin.escapeIdentifier(legacy.user)} RENAME TO ${retired}`);
    if (rows[0]?.rolname === legacy.user || rows[0]?.rolname === RETIRED_BOOTSTRAP_ROLE) {
      await admin.query(`ALTER ROLE ${retired} NOLOGIN PASSWORD NULL`);
    }
  });
}

/** Gives `owner` the database and every object in it that the bootstrap superuser owns (outside the system schemas). */
async function handOverDatabase(port: number, superuser: RoleLogin, database: string, owner: string): Promise<void> {
  await withAdmin(port, superuser, 'postgres', (admin) =>
    admin.query(`ALTER DATABASE ${admin.escapeIdentifier(database)} OWNER TO ${admin.escapeIdentifier(owner)}`),
  );
  await withAdmin(port, superuser, database, async (db) => {
    const to = db.escapeIdentifier(owner);
    // REASSIGN OWNED refuses the bootstrap superuser (it owns the catalogs), so object by object.
    // Tables take their indexes and column sequences with them; schemas, then relations, then routines and types.
    const { rows } = await db.query<{ statement: string }>(
      `SELECT format('ALTER SCHEMA %I OWNER TO %s', nspname, $2::text) AS statement
         FROM pg_namespace WHERE nspowner = $1 AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
       UNION ALL
       SELECT format('ALTER %s %s OWNER TO %s',
                     CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                    WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                     c.oid::regclass, $2::text)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relowner = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
       UNION ALL
       SELECT format('ALTER ROUTINE %s OWNER TO %s', p.oid::regprocedure, $2::text)
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.proowner = $1 AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
       UNION ALL
       SELECT format('ALTER TYPE %s OWNER TO %s', t.oid::regtype, $2::text)
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typowner = $1 AND t.typtype IN ('e', 'd', 'r') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`,
      [BOOTSTRAP_SUPERUSER_OID, to],
    );
    for (const { statement } of rows) await db.query(statement);
  });
}
