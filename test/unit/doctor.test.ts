import { startSimulator, type RunningSimulator } from '../../simulator';
import { formatCheck } from '../../src/cli/doctor';
import { diagnose, type CheckResult } from '../../src/qualys/diagnostics';

async function runDoctor(connection: { apiUrl: string; username: string; password: string }): Promise<CheckResult[]> {
  const checks: CheckResult[] = [];
  for await (const check of diagnose(connection)) checks.push(check);
  return checks;
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
