import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Pool } from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { projectRoot } from '../../src/config/project-paths';
import { freshDatabase, testDatabasePassword } from '../harness/database';
import { expectNoSecretAnywhere, startSyncRun } from '../harness/sync-run';
import { workerLogs } from '../harness/temporal';
import { useTestEnvironment } from '../harness/test-environment';
import { startWorkerProcess } from '../harness/worker-process';

const USERNAME = 'echo_user';
const PASSWORD = 'Echo-Passw0rd+2025&x';

/** Every spelling of the password (and its Basic token) a hostile or careless server may echo. */
const SPELLINGS = [
  PASSWORD,
  encodeURIComponent(PASSWORD), // Echo-Passw0rd%2B2025%26x
  encodeURIComponent(PASSWORD).toLowerCase().replace('echo-passw0rd', 'Echo-Passw0rd'),
  'Echo-Passw0rd&#43;2025&amp;x',
  Buffer.from(PASSWORD).toString('base64'),
  Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64'),
];

/**
 * A hostile loopback "Qualys": every call gets a 500 whose Qualys error text echoes the request's
 * credentials, decoded from its Authorization header, in every spelling above.
 */
async function startEchoingServer(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    const [user = '', password = ''] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8').split(/:(.*)/s);
    const echo = [
      `user ${user}`,
      `as sent ${encodeURIComponent(password)}`,
      `lower ${encodeURIComponent(password).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())}`,
      `entities ${password.replace('+', '&amp;#43;').replace('&x', '&amp;amp;x')}`,
      `base64 ${Buffer.from(password).toString('base64')}`,
      `token ${req.headers.authorization ?? ''}`,
    ].join('; ');
    res.writeHead(500, { 'Content-Type': 'text/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8" ?>\n<SIMPLE_RETURN><RESPONSE><DATETIME>2025-10-31T12:00:00Z</DATETIME>` +
        `<CODE>999</CODE><TEXT>Internal error. Request echo: ${echo}</TEXT></RESPONSE></SIMPLE_RETURN>\n`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('one masking for every spelling of every secret', () => {
  const testEnvironment = useTestEnvironment();

  it('a 500 echoing the password percent-encoded, as entities, in base64 and as the Basic token reaches no history, log or runs.failure', async () => {
    const env = testEnvironment.env();
    const simulator = await testEnvironment.simulator({ hosts: 5, seed: 3 });
    const echoing = await startEchoingServer();
    try {
      const started = await startSyncRun(env, { ...simulator, url: echoing.url }, {
        connection: 'echo',
        credentials: { username: USERNAME, password: PASSWORD },
        input: { retryWindowMinutes: 0.15 },
      });
      try {
        const failure = await started.handle.result().then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(failure).toBeInstanceOf(WorkflowFailedError);
        expect(echoing.requests()).toBeGreaterThanOrEqual(2); // the step was retried: the echo was seen more than once
        const pool = new Pool({ connectionString: started.databaseUrl });
        const { rows } = await pool.query<{ failure: string }>('SELECT failure FROM runs WHERE run_key = $1', [started.runKey]);
        await pool.end();
        // The echo did reach the failure, with each of its spellings masked.
        expect(rows[0]?.failure).toContain('Request echo: user echo_user; as sent ***; lower ***; entities ***; base64 ***; token Basic ***');
        for (const spelling of SPELLINGS) await expectNoSecretAnywhere(env, spelling, started.workflowId, started.databaseUrl, workerLogs());
      } finally {
        await started.stop();
      }
    } finally {
      await echoing.close();
    }
  });
});

describe('a password in DATABASE_URL\'s query string (?password=) is never printed', () => {
  const testEnvironment = useTestEnvironment();

  function withQueryPassword(databaseUrl: string, change: (url: URL) => void = () => undefined): string {
    const url = new URL(databaseUrl);
    url.password = '';
    url.searchParams.set('password', testDatabasePassword());
    change(url);
    return url.toString();
  }

  it.each(['json', 'text'])('the worker\'s start line and logs, --log-format %s', async (format) => {
    const env = testEnvironment.env();
    const databaseUrl = withQueryPassword(await freshDatabase());
    const worker = await startWorkerProcess({
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: env.namespace,
      TEMPORAL_TASK_QUEUE: `query-password-${format}`,
      QUALYS_WORKER_LOG_FORMAT: format,
      DATABASE_URL: databaseUrl,
    });
    worker.child.kill('SIGTERM');
    await worker.exited;
    const output = worker.output();
    expect(output).toContain('worker polling');
    expect(output).toContain('password=***');
    for (const spelling of [testDatabasePassword(), encodeURIComponent(testDatabasePassword())]) expect(output).not.toContain(spelling);
  });

  it('"the database does not exist"', async () => {
    const databaseUrl = withQueryPassword(process.env.TEST_DATABASE_URL ?? '', (url) => (url.pathname = '/no_such_db'));
    const output = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        [path.join(projectRoot(), 'lib', 'src', 'worker', 'main.js')],
        { env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl }, timeout: 60_000 },
        (_error, stdout, stderr) => resolve(`${stdout}${stderr}`),
      );
    });
    expect(output).toMatch(/The database "no_such_db" does not exist/);
    expect(output).toContain('password=***');
    expect(output).not.toContain(testDatabasePassword());
  });
});
