import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { projectRoot } from '../../src/config/project-paths';
import { ApiBudgetExhaustedError, subscriptionKey, type ApiAnswer, type ApiGuard } from '../../src/store/api-guard';
import { openStore, type OpenedStore } from '../../src/store/open-store';
import { heldAdvisoryLocks, inFlightCounter } from '../harness/api-slots';
import { freshDatabase } from '../harness/database';
import { until } from '../harness/until';

const SUBSCRIPTION = subscriptionKey('https://qualysapi.qg2.apps.qualys.com', 'acme_api');

describe('the API guard in the store: slots and budgets shared by every process (real PostgreSQL)', () => {
  let databaseUrl: string;
  const opened: OpenedStore[] = [];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'qualys-guard-'));

  /** A store of its own (its own slot connections), as another worker process would have. */
  async function guard(): Promise<ApiGuard> {
    const store = await openStore({ databaseUrl, dataDir });
    opened.push(store);
    return store.apiGuard;
  }

  /** One call through the guard: enter, hold the slot a little, leave with what "Qualys" answered. */
  async function call(g: ApiGuard, api: string, counter: ReturnType<typeof inFlightCounter>, answer: ApiAnswer): Promise<void> {
    const held = await g.enter(SUBSCRIPTION, api);
    counter.enter();
    await sleep(2 + Math.random() * 20);
    counter.leave();
    await held.leave(answer);
  }

  beforeEach(async () => {
    databaseUrl = await freshDatabase();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((o) => o.close()));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('never lets more than limit − 1 calls of one API run at once across processes, and every call gets through', async () => {
    const [a, b] = [await guard(), await guard()];
    const counter = inFlightCounter();
    // The first answer says the limit is 4: three slots for the connector, one left for other tools.
    await call(a, 'hostDetection', inFlightCounter(), { concurrencyLimit: 4 });
    await Promise.all(Array.from({ length: 24 }, (_, i) => call(i % 2 ? a : b, 'hostDetection', counter, { concurrencyLimit: 4 })));
    expect(counter.peak()).toBeLessThanOrEqual(3);
    expect(await heldAdvisoryLocks(databaseUrl)).toEqual([]);
  });

  it('with a limit of 1, all APIs of the subscription share one slot (an API never observed takes the subscription limit)', async () => {
    const [a, b] = [await guard(), await guard()];
    await call(a, 'hostList', inFlightCounter(), { concurrencyLimit: 1 });
    const counter = inFlightCounter();
    const apis = ['hostList', 'hostDetection', 'hostAssetSearch'];
    await Promise.all(Array.from({ length: 18 }, (_, i) => call(i % 2 ? a : b, apis[i % 3], counter, {})));
    expect(counter.peak()).toBe(1);
  });

  it('a wait for a slot is cancelled by its AbortSignal, on the server too, and the slot stays usable', async () => {
    const g = await guard();
    const holder = await g.enter(SUBSCRIPTION, 'hostList');
    const controller = new AbortController();
    const waiting = g.enter(SUBSCRIPTION, 'hostList', controller.signal);
    const outcome = waiting.then(
      () => 'entered',
      (err: unknown) => err,
    );
    await until('the waiter to queue for the slot', async () => ((await lockWaiters(databaseUrl)) > 0 ? true : undefined));
    controller.abort(new Error('activity cancelled'));
    expect(await outcome).toEqual(new Error('activity cancelled'));
    await until('the cancelled wait to leave the server', async () => ((await lockWaiters(databaseUrl)) === 0 ? true : undefined));
    await holder.leave();
    const next = await g.enter(SUBSCRIPTION, 'hostList', AbortSignal.timeout(60_000));
    await next.leave();
    expect(await heldAdvisoryLocks(databaseUrl)).toEqual([]);
  });

  it('waiters get the slot in the order they asked for it, whichever process they are in (no starvation)', async () => {
    const guards = [await guard(), await guard(), await guard()];
    const holder = await guards[0].enter(SUBSCRIPTION, 'hostList');
    const order: number[] = [];
    const waiters: Array<Promise<void>> = [];
    for (let i = 0; i < 6; i++) {
      waiters.push(
        guards[i % 3].enter(SUBSCRIPTION, 'hostList').then(async (held) => {
          order.push(i);
          await held.leave();
        }),
      );
      await until(`waiter ${i} to queue`, async () => ((await lockWaiters(databaseUrl)) === i + 1 ? true : undefined));
    }
    await holder.leave();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('with several slots, waiters queue on the gate; both the one looking for a slot and the ones behind it can be cancelled', async () => {
    const g = await guard();
    await call(g, 'hostDetection', inFlightCounter(), { concurrencyLimit: 3 });
    const holders = [await g.enter(SUBSCRIPTION, 'hostDetection'), await g.enter(SUBSCRIPTION, 'hostDetection')];
    const [head, behind] = [new AbortController(), new AbortController()];
    const outcomeOf = (signal: AbortSignal): Promise<unknown> => g.enter(SUBSCRIPTION, 'hostDetection', signal).then(() => 'entered', (err: unknown) => err);
    const headOutcome = outcomeOf(head.signal);
    // The head holds the gate and polls for a slot; the next one waits for the gate in PostgreSQL's queue.
    await until('the head to hold the gate', async () => ((await heldAdvisoryLocks(databaseUrl)).length === 3 ? true : undefined));
    const behindOutcome = outcomeOf(behind.signal);
    await until('the next waiter to queue on the gate', async () => ((await lockWaiters(databaseUrl)) === 1 ? true : undefined));
    behind.abort(new Error('second cancelled'));
    head.abort(new Error('head cancelled'));
    expect(await behindOutcome).toEqual(new Error('second cancelled'));
    expect(await headOutcome).toEqual(new Error('head cancelled'));
    await until('the cancelled waits to leave the server', async () => ((await lockWaiters(databaseUrl)) === 0 ? true : undefined));
    for (const h of holders) await h.leave();
    const next = await g.enter(SUBSCRIPTION, 'hostDetection', AbortSignal.timeout(60_000));
    await next.leave();
    expect(await heldAdvisoryLocks(databaseUrl)).toEqual([]);
  });

  it('a process killed while it holds a slot does not leak it', async () => {
    // A real process holds the slot (limit 2: one slot for hostDetection), then dies with SIGKILL.
    const script = `
      const { openStore } = require(${JSON.stringify(path.join(projectRoot(), 'lib', 'src', 'store', 'open-store.js'))});
      openStore({ databaseUrl: process.env.DB, dataDir: process.env.DATA_DIR })
        .then((o) => o.apiGuard.enter(process.env.SUB, 'hostDetection'))
        .then(() => { console.log('holding'); setInterval(() => undefined, 1000); });`;
    const child = spawn(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH, DB: databaseUrl, DATA_DIR: dataDir, SUB: SUBSCRIPTION },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await until('the child to hold the slot', async () => (output.includes('holding') ? true : undefined));
    expect((await heldAdvisoryLocks(databaseUrl)).map((l) => l.processId)).toEqual([child.pid]);

    const g = await guard();
    const waiting = g.enter(SUBSCRIPTION, 'hostDetection', AbortSignal.timeout(60_000));
    child.kill('SIGKILL');
    await exited;
    const held = await waiting;
    expect((await heldAdvisoryLocks(databaseUrl)).map((l) => l.processId)).toEqual([process.pid]);
    await held.leave();
  });

  it('pauses an API whose budget the headers showed spent, without queueing for a slot, and only that API', async () => {
    const [a, b] = [await guard(), await guard()];
    await call(a, 'hostList', inFlightCounter(), { concurrencyLimit: 2, rateLimit: 5, windowSeconds: 60, remaining: 0, toWaitSeconds: 30 });
    const refused = await b.enter(SUBSCRIPTION, 'hostList').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ApiBudgetExhaustedError);
    const wait = (refused as ApiBudgetExhaustedError).waitSeconds;
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(30);
    expect((refused as Error).message).toContain('X-RateLimit-ToWait-Sec');
    await call(b, 'hostDetection', inFlightCounter(), {});
  });
});

/** Sessions of the database waiting for an advisory lock. */
async function lockWaiters(databaseUrl: string): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return rows[0]?.n ?? 0;
  } finally {
    await pool.end();
  }
}
