import { parseArgs } from 'node:util';
import { ConnectionProfiles, describeProfile, type ConnectionProfile } from '../config/connections';
import { ConfigError } from '../config/errors';
import { SecretMasker, credentialSecrets, environmentSecrets, redactUrl, urlSecrets } from '../config/secrets';
import { diagnose, isBlocking, type CheckResult, type Verdict } from '../qualys/diagnostics';

const USAGE = `npm run doctor -- [--connection NAME]

Checks whether the connector can work with a Qualys connection, and if not, exactly why: the URL,
DNS and TLS, authentication, each API the connector needs, and the subscription's limits. For every
check it prints the curl command that reproduces it, with the password as the environment variable
that holds it ($QUALYS_PASSWORD for "default", the profile's passwordEnv otherwise).
Exits 1 when a required check fails.

Reads the same settings as the worker: QUALYS_API_URL, QUALYS_USERNAME, QUALYS_PASSWORD (connection
"default"), or QUALYS_CONNECTIONS_FILE for several.`;

const LABEL: Readonly<Record<Verdict, string>> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

export function formatCheck(check: CheckResult): string {
  const lines = [`  ${LABEL[check.verdict]}  ${check.title.padEnd(34)} ${check.detail}`];
  if (check.fix) lines.push(`        fix: ${check.fix}`);
  if (check.curl) lines.push(`        $ ${check.curl}`);
  return lines.join('\n');
}

function pickProfile(profiles: ConnectionProfiles, name: string | undefined): ConnectionProfile {
  if (name) return profiles.get(name);
  const names = profiles.names();
  if (names.length === 1) return profiles.get(names[0]);
  if (names.includes('default')) return profiles.get('default');
  if (names.length === 0) {
    throw new ConfigError('No Qualys connection is configured: set QUALYS_API_URL, QUALYS_USERNAME and QUALYS_PASSWORD (or QUALYS_CONNECTIONS_FILE).');
  }
  throw new ConfigError(`Several connections are configured (${names.join(', ')}): choose one with --connection NAME.`);
}

/** The doctor over an environment, printing each check as it is known; returns the exit status. */
export async function runDoctor(args: string[], env: NodeJS.ProcessEnv, printPlain: (text: string) => void): Promise<number> {
  // Every line goes through the masking: no credential the doctor was given is printed, in any spelling.
  let masker = new SecretMasker(environmentSecrets(env));
  const print = (text: string): void => printPlain(masker.mask(text));
  const { values } = parseArgs({ args, options: { connection: { type: 'string' }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    print(USAGE);
    return 0;
  }
  const profile = pickProfile(ConnectionProfiles.fromEnvironment(env), values.connection);
  masker = masker.with([...credentialSecrets(profile.username, profile.password), ...urlSecrets(profile.apiUrl)]);
  const shown = describeProfile(profile);
  const passwordFrom = profile.passwordEnv ? ` (password from $${profile.passwordEnv})` : '';
  print(`Qualys doctor — connection "${shown.name}", user ${shown.username}, API URL ${redactUrl(shown.apiUrl)}${passwordFrom}\n`);
  const viaProxy = Boolean(env.HTTPS_PROXY || env.https_proxy);
  let failed = 0;
  for await (const check of diagnose(
    { apiUrl: profile.apiUrl, username: profile.username, password: profile.password, caFile: profile.caFile },
    { viaProxy, passwordEnv: profile.passwordEnv },
  )) {
    print(formatCheck(check));
    if (isBlocking(check)) failed += 1;
  }
  print(failed === 0 ? '\nAll required checks passed: the connector can work with this connection.' : `\n${failed} required check(s) failed.`);
  return failed === 0 ? 0 : 1;
}

if (require.main === module) {
  runDoctor(process.argv.slice(2), process.env, (text) => console.log(text)).then(
    (status) => process.exit(status),
    (err: unknown) => {
      console.error(new SecretMasker(environmentSecrets(process.env)).mask(err instanceof Error ? err.message : String(err)));
      process.exit(2);
    },
  );
}
