import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors';
import { credentialSecrets, urlSecrets } from './secrets';

/**
 * Connection profiles: which Qualys subscription a run talks to. A workflow input names a profile
 * (`{"connection":"prod"}`); the secrets stay in the worker's environment and never enter Temporal.
 *
 * Sources, merged:
 *  - QUALYS_API_URL, QUALYS_USERNAME, QUALYS_PASSWORD  → a profile named `default`;
 *  - QUALYS_CONNECTIONS_FILE → a JSON file `{ "connections": { "<name>": { "apiUrl", "username",
 *    "passwordEnv": "NAME_OF_ENV_VAR" } } }` (the password itself is never in the file).
 */
export const CONNECTION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const connectionNameSchema = z
  .string()
  .regex(CONNECTION_NAME_PATTERN, 'a connection name is 1–64 letters, digits, "_", "." or "-", starting with a letter or digit');

const profileFileEntrySchema = z
  .object({
    apiUrl: z.string().min(1, 'apiUrl is empty'),
    username: z.string().min(1, 'username is empty'),
    passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'passwordEnv must name an environment variable, e.g. QUALYS_PROD_PASSWORD'),
    caFile: z.string().optional(),
  })
  .strict();

const profilesFileSchema = z.object({ connections: z.record(connectionNameSchema, profileFileEntrySchema) }).strict();

export interface ConnectionProfile {
  name: string;
  apiUrl: string;
  username: string;
  password: string;
  /**
   * The environment variable the password was read from, so the doctor's curl lines can name it
   * instead of the password. Undefined when the password was handed in directly (demo, tests).
   */
  passwordEnv?: string;
  caFile?: string;
}

/** The variable that holds the password of the `default` profile. */
export const DEFAULT_PASSWORD_ENV = 'QUALYS_PASSWORD';

/** What a profile may show in logs, history and reports: everything but the password. */
export function describeProfile(profile: ConnectionProfile): { name: string; apiUrl: string; username: string } {
  return { name: profile.name, apiUrl: profile.apiUrl, username: profile.username };
}

export class ConnectionProfiles {
  constructor(private readonly profiles: ReadonlyMap<string, ConnectionProfile>) {}

  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): ConnectionProfiles {
    const profiles = new Map<string, ConnectionProfile>();
    const single = [env.QUALYS_API_URL, env.QUALYS_USERNAME, env.QUALYS_PASSWORD];
    if (single.some((v) => v !== undefined && v !== '')) {
      const missing = ['QUALYS_API_URL', 'QUALYS_USERNAME', 'QUALYS_PASSWORD'].filter((k) => !env[k]);
      if (missing.length > 0) {
        throw new ConfigError(`The "default" connection is half-configured: set ${missing.join(', ')} too (or unset the others).`);
      }
      profiles.set('default', {
        name: 'default',
        apiUrl: env.QUALYS_API_URL as string,
        username: env.QUALYS_USERNAME as string,
        password: env[DEFAULT_PASSWORD_ENV] as string,
        passwordEnv: DEFAULT_PASSWORD_ENV,
        caFile: env.QUALYS_CA_FILE || undefined,
      });
    }
    if (env.QUALYS_CONNECTIONS_FILE) {
      for (const profile of readProfilesFile(env.QUALYS_CONNECTIONS_FILE, env)) profiles.set(profile.name, profile);
    }
    return new ConnectionProfiles(profiles);
  }

  static of(...profiles: ConnectionProfile[]): ConnectionProfiles {
    return new ConnectionProfiles(new Map(profiles.map((p) => [p.name, p])));
  }

  /**
   * The passwords, their Basic tokens and any credentials written into an API URL, so log writers can
   * mask them should one ever slip into a message.
   */
  secrets(): string[] {
    return [...this.profiles.values()].flatMap((p) => [...credentialSecrets(p.username, p.password), ...urlSecrets(p.apiUrl)]);
  }

  names(): string[] {
    return [...this.profiles.keys()].sort();
  }

  get(name: string): ConnectionProfile {
    const profile = this.profiles.get(name);
    if (!profile) {
      const known = this.names();
      throw new ConfigError(
        `No connection profile named "${name}" is configured on this worker. ` +
          (known.length > 0
            ? `Known profiles: ${known.join(', ')}.`
            : 'None is configured: set QUALYS_API_URL, QUALYS_USERNAME and QUALYS_PASSWORD (profile "default") or QUALYS_CONNECTIONS_FILE.'),
      );
    }
    return profile;
  }
}

function readProfilesFile(file: string, env: NodeJS.ProcessEnv): ConnectionProfile[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`QUALYS_CONNECTIONS_FILE=${file} could not be read as JSON: ${(err as Error).message}`);
  }
  const parsed = profilesFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new ConfigError(`QUALYS_CONNECTIONS_FILE=${file} is not valid: ${problems.join('; ')}`);
  }
  return Object.entries(parsed.data.connections).map(([name, entry]) => {
    const password = env[entry.passwordEnv];
    if (!password) {
      throw new ConfigError(
        `Connection "${name}" takes its password from the environment variable ${entry.passwordEnv}, which is not set on this worker.`,
      );
    }
    return { name, apiUrl: entry.apiUrl, username: entry.username, password, passwordEnv: entry.passwordEnv, caFile: entry.caFile };
  });
}
