import { parseArgs } from 'node:util';
import { ConnectionProfiles, describeProfile, type ConnectionProfile } from '../config/connections';
import { ConfigError } from '../config/errors';
import { diagnose, isBlocking, type CheckResult, type Verdict } from '../qualys/diagnostics';

const USAGE = `npm run doctor -- [--connection NAME]

Checks whether the connector can work with a Qualys connection, and if not, exactly why: the URL,
DNS and TLS, authentication, each API the connector needs, and the subscription's limits. For every
check it prints the curl command that reproduces it (with the password as $QUALYS_PASSWORD).
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

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { connection: { type: 'string' }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const profile = pickProfile(ConnectionProfiles.fromEnvironment(), values.connection);
  const shown = describeProfile(profile);
  console.log(`Qualys doctor — connection "${shown.name}", user ${shown.username}, API URL ${shown.apiUrl}\n`);
  const viaProxy = Boolean(process.env.HTTPS_PROXY || process.env.https_proxy);
  let failed = 0;
  for await (const check of diagnose(
    { apiUrl: profile.apiUrl, username: profile.username, password: profile.password, caFile: profile.caFile },
    { viaProxy },
  )) {
    console.log(formatCheck(check));
    if (isBlocking(check)) failed += 1;
  }
  console.log(failed === 0 ? '\nAll required checks passed: the connector can work with this connection.' : `\n${failed} required check(s) failed.`);
  return failed === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (status) => process.exit(status),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(2);
    },
  );
}
