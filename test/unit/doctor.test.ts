import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { formatCheck, runDoctor as doctorCommand } from '../../src/cli/doctor';
import { diagnose, type CheckResult, type DiagnoseOptions } from '../../src/qualys/diagnostics';

async function runDoctor(
  connection: { apiUrl: string; username: string; password: string },
  options: DiagnoseOptions = { passwordEnv: 'QUALYS_PASSWORD' },
): Promise<CheckResult[]> {
  const checks: CheckResult[] = [];
  for await (const check of diagnose(connection, options)) checks.push(check);
  return checks;
}

/** The `-u` arguments of every curl line printed. */
function credentialArgs(printed: string): string[] {
  return [...printed.matchAll(/ -u ("[^"]*")/g)].map((match) => match[1] ?? '');
}

function byId(checks: CheckResult[], id: CheckResult['id']): CheckResult {
  const check = checks.find((c) => c.id === id);
  if (!check) throw new Error(`no ${id} check`);
  return check;
}

describe('the doctor against the simulator', () => {
  let simulator: RunningSimulator;
  beforeAll(async () => {
    simulator = await startSimulator({
      hosts: 40,
      users: [
        { username: 'full_user', password: 'full-Passw0rd!' },
        { username: 'no_kb_user', password: 'nokb-Passw0rd!', knowledgeBase: false },
      ],
    });
  });
  afterAll(async () => simulator?.close());

  it('passes every check with good credentials, and reports the limits', async () => {
    const checks = await runDoctor({ apiUrl: simulator.url, username: 'full_user', password: 'full-Passw0rd!' });
    expect(checks.map((c) => [c.id, c.verdict])).toEqual([
      ['url', 'pass'],
      ['dns', 'pass'],
      ['tls', 'pass'],
      ['authentication', 'pass'],
      ['hostList', 'pass'],
      ['hostDetection', 'pass'],
      ['knowledgeBase', 'pass'],
      ['hostAsset', 'pass'],
      ['limits', 'pass'],
    ]);
    expect(byId(checks, 'hostList').detail).toContain('40 hosts');
    expect(byId(checks, 'limits').detail).toMatch(/300 calls per hour .* 2 calls at once/);
  });

  it('fails a bad password naming the three causes, with a curl line that holds no password', async () => {
    const checks = await runDoctor({ apiUrl: simulator.url, username: 'full_user', password: 'Not-The-Password-42' });
    const auth = byId(checks, 'authentication');
    expect(auth.verdict).toBe('fail');
    expect(auth.detail).toMatch(/username or password/);
    expect(auth.detail).toMatch(/API access/);
    expect(auth.detail).toMatch(/platform \(POD\)/);
    expect(auth.curl).toContain('-u "full_user:$QUALYS_PASSWORD"');
    expect(auth.curl).toContain('/api/2.0/fo/asset/host/');
    expect(byId(checks, 'knowledgeBase').verdict).toBe('skip');
    const printed = checks.map(formatCheck).join('\n');
    expect(printed).toContain('fix:');
    expect(printed.includes('Not-The-Password-42')).toBe(false);
  });

  it('fails a user without KnowledgeBase access with that fix, and only that check', async () => {
    const checks = await runDoctor({ apiUrl: simulator.url, username: 'no_kb_user', password: 'nokb-Passw0rd!' });
    const kb = byId(checks, 'knowledgeBase');
    expect(kb.verdict).toBe('fail');
    expect(kb.detail).toMatch(/KnowledgeBase/);
    expect(kb.fix).toMatch(/KnowledgeBase is needed to map QIDs to CVEs/);
    expect(kb.curl).toContain('/api/2.0/fo/knowledge_base/vuln/');
    expect(checks.filter((c) => c.verdict === 'fail').map((c) => c.id)).toEqual(['knowledgeBase']);
  });

  it('refuses the UI host before any network call, naming the API host to use', async () => {
    const checks = await runDoctor({ apiUrl: 'https://qualysguard.qg2.apps.qualys.com/', username: 'u', password: 'p-12345' });
    const url = byId(checks, 'url');
    expect(url.verdict).toBe('fail');
    expect(url.detail).toContain('qualysapi.qg2.apps.qualys.com');
    expect(url.fix).toContain('https://qualysapi.qg2.apps.qualys.com');
    expect(checks.slice(1).every((c) => c.verdict === 'skip')).toBe(true);
  });
});

describe('the doctor names the variable that holds each profile\'s password', () => {
  const DEFAULT_PASSWORD = 'default-Passw0rd!';
  const PROD_PASSWORD = 'prod-Passw0rd!';
  let simulator: RunningSimulator;
  let dir: string;
  let connectionsFile: string;
  beforeAll(async () => {
    simulator = await startSimulator({
      hosts: 5,
      users: [
        { username: 'default_user', password: DEFAULT_PASSWORD },
        { username: 'prod_user', password: PROD_PASSWORD },
      ],
    });
    dir = mkdtempSync(path.join(tmpdir(), 'qualys-doctor-'));
    connectionsFile = path.join(dir, 'connections.json');
    writeFileSync(
      connectionsFile,
      JSON.stringify({ connections: { prod: { apiUrl: simulator.url, username: 'prod_user', passwordEnv: 'QUALYS_PROD_PASSWORD' } } }),
    );
  });
  afterAll(async () => {
    await simulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function doctor(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; printed: string }> {
    const lines: string[] = [];
    const status = await doctorCommand(args, env, (text) => lines.push(text));
    return { status, printed: lines.join('\n') };
  }

  const both = (): NodeJS.ProcessEnv => ({
    QUALYS_API_URL: simulator.url,
    QUALYS_USERNAME: 'default_user',
    QUALYS_PASSWORD: DEFAULT_PASSWORD,
    QUALYS_CONNECTIONS_FILE: connectionsFile,
    QUALYS_PROD_PASSWORD: PROD_PASSWORD,
  });

  it('the default profile: $QUALYS_PASSWORD', async () => {
    const { status, printed } = await doctor(['--connection', 'default'], both());
    expect(status).toBe(0);
    expect(printed).toContain('(password from $QUALYS_PASSWORD)');
    const args = credentialArgs(printed);
    // Authentication, Host List, Host List Detection, KnowledgeBase, Asset Management.
    expect(args).toHaveLength(5);
    expect(new Set(args)).toEqual(new Set(['"default_user:$QUALYS_PASSWORD"']));
    expect(printed).not.toContain(DEFAULT_PASSWORD);
    expect(printed).not.toContain(PROD_PASSWORD);
  });

  it('a named profile from the connections file: its own passwordEnv, never $QUALYS_PASSWORD', async () => {
    const { status, printed } = await doctor(['--connection', 'prod'], both());
    expect(status).toBe(0);
    expect(printed).toContain('connection "prod", user prod_user');
    expect(printed).toContain('(password from $QUALYS_PROD_PASSWORD)');
    const args = credentialArgs(printed);
    expect(args).toHaveLength(5);
    expect(new Set(args)).toEqual(new Set(['"prod_user:$QUALYS_PROD_PASSWORD"']));
    expect(printed).not.toContain('$QUALYS_PASSWORD');
    expect(printed).not.toContain(PROD_PASSWORD);
    expect(printed).not.toContain(DEFAULT_PASSWORD);
  });

  it('the named profile alone (no default configured) still names its variable, on a failing check too', async () => {
    const { status, printed } = await doctor([], { QUALYS_CONNECTIONS_FILE: connectionsFile, QUALYS_PROD_PASSWORD: 'a-wrong-Passw0rd' });
    expect(status).toBe(1);
    expect(printed).toMatch(/FAIL {2}Authentication/);
    expect(credentialArgs(printed)).toEqual(['"prod_user:$QUALYS_PROD_PASSWORD"']);
    expect(printed).not.toContain('a-wrong-Passw0rd');
  });

  it('a password from no variable: curl lines give the user alone, and curl asks for the password', async () => {
    const checks = await runDoctor({ apiUrl: simulator.url, username: 'prod_user', password: PROD_PASSWORD }, {});
    const args = credentialArgs(checks.map(formatCheck).join('\n'));
    expect(args).toHaveLength(5);
    expect(new Set(args)).toEqual(new Set(['"prod_user"']));
  });

  it.each([
    ['https://apiuser:UrlSecret99@qualysapi.qualys.com', 'UrlSecret99'],
    ['https://apiuser:Url%2BSecret99@qualysapi.qualys.com/', 'Url+Secret99'],
    ['apiuser:UrlSecret99@qualysapi.qualys.com', 'UrlSecret99'],
  ])('an API URL with credentials (%s): no line shows them, in any spelling', async (apiUrl, urlPassword) => {
    const password = 'Doctor-Pa55+word';
    const { status, printed } = await doctor([], { QUALYS_API_URL: apiUrl, QUALYS_USERNAME: 'default_user', QUALYS_PASSWORD: password });
    expect(status).toBe(1);
    expect(printed.split('\n')[0]).toMatch(/^Qualys doctor — connection "default", user default_user, API URL .*\*\*\*@qualysapi\.qualys\.com/);
    expect(printed).toMatch(/FAIL {2}API URL/);
    for (const spelling of [urlPassword, encodeURIComponent(urlPassword), password, encodeURIComponent(password)]) expect(printed).not.toContain(spelling);
  });

  it('refuses a passwordEnv that is not a variable name (it would be pasted into a shell line)', async () => {
    await expect(runDoctor({ apiUrl: simulator.url, username: 'prod_user', password: PROD_PASSWORD }, { passwordEnv: 'X; rm -rf ~' })).rejects.toMatchObject({
      kind: 'config',
    });
  });
});
