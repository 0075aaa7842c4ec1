import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { storeCallGate } from '../../src/activities/qualys-call-gate';
import { projectRoot } from '../../src/config/project-paths';
import { QualysClient } from '../../src/qualys/client';
import { subscriptionKey } from '../../src/store/api-guard';
import { openStore, type OpenedStore } from '../../src/store/open-store';
import { heldAdvisoryLocks } from '../harness/api-slots';
import { freshDatabase } from '../harness/database';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy';
import { useTestEnvironment } from '../harness/test-environment';
import { until } from '../harness/until';

/** The lease in these tests; the bound a hung holder's slot must be free within is twice that at most. */
const LEASE_MS = 2_000;
const BOUND_MS = 2 * LEASE_MS;
/** What a loaded machine may add to the bound: PostgreSQL's timer, process scheduling, our polling. */
const SLACK_MS = 8_000;

const lib = (file: string): string => JSON.stringify(path.join(projectRoot(), 'lib', 'src', file));

/**
 * A second worker process that calls Qualys (the simulator) through the store's guard, and stops itself
 * with SIGSTOP right after it got its slot, before it sends the call: the worst moment to hang.
 */
const STOPS_HOLDING_A_SLOT = `
  const { openStore } = require(${lib('store/open-store.js')});
  const { storeCallGate } = require(${lib('activities/qualys-call-gate.js')});
  const { QualysClient } = require(${lib('qualys/client.js')});
  (async () => {
    const opened = await openStore({ databaseUrl: process.env.DB, dataDir: process.env.DATA_DIR, slotLeaseMs: Number(process.env.LEASE_MS) });
    const gate = storeCallGate(opened.apiGuard);
    const stopsHolding = (subscription) => {
      const inner = gate(subscription);
      return {
        enter: async (endpoint, signal) => {
          const pass = await inner.enter(endpoint, signal);
          console.log('holding');
          process.kill(process.pid, 'SIGSTOP');
          return pass;
        },
      };
    };
    const client = new QualysClient({ apiUrl: process.env.API, username: process.env.QUSER, password: process.env.QPASS }, { gate: stopsHolding });
    try {
      await client.listHostIds();
      console.log('called');
    } catch (err) {
      console.log('refused ' + err.kind);
    }
    await client.close();
    await opened.close();
  })();`;

/**
 * A process that takes a slot and holds it as an HTTP call would, until its lease lapses. Its store keeps
 * the default lease; the call asks for a shorter one, as a step with a short heartbeat timeout does.
 */
const HOLDS_A_SLOT = `
  const { openStore } = require(${lib('store/open-store.js')});
  (async () => {
    const opened = await openStore({ databaseUrl: process.env.DB, dataDir: process.env.DATA_DIR });
    const call = await opened.apiGuard.enter(process.env.SUB, 'hostList', undefined, Number(process.env.LEASE_MS));
    console.log('holding');
    call.lease.signal.addEventListener('abort', () => {
      console.log('lapsed ' + call.lease.signal.reason.name);
      call.leave().then(() => process.exit(0));
    });
    setInterval(() => undefined, 1000);
  })();`;

interface Child {
  child: ChildProcess;
  output(): string;
  exited: Promise<unknown>;
}

describe('API slots on a lease: a holder that hangs or loses the database frees its slot within the bound', () => {
  const testEnvironment = useTestEnvironment();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'qualys-leases-'));
  const children: Child[] = [];
  const opened: OpenedStore[] = [];
  const proxies: TcpProxy[] = [];

  function startChild(script: string, env: Record<string, string>): Child {
    const child = spawn(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, LEASE_MS: String(LEASE_MS), ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = { child, output: () => output, exited: new Promise((resolve) => child.once('exit', resolve)) };
    children.push(started);
    return started;
  }

  afterEach(async () => {
    for (const { child } of children) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await Promise.all(children.splice(0).map((c) => c.exited));
    await Promise.all(opened.splice(0).map((o) => o.close()));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a holder stopped with SIGSTOP: others call within the bound; resumed with SIGCONT, it never sends its call, and Qualys never sees more than its limit', async () => {
    const sim = await testEnvironment.simulator({ hosts: 5, seed: 3, concurrencyLimit: 1 });
    const databaseUrl = await freshDatabase();
    const store = await openStore({ databaseUrl, dataDir, slotLeaseMs: LEASE_MS });
    opened.push(store);
    const client = new QualysClient({ apiUrl: sim.url, username: sim.username, password: sim.password }, { gate: storeCallGate(store.apiGuard) });
    // The first answer tells every worker the limit is 1: one slot, shared by every API.
    await client.listHostIds();
    sim.resetStats();

    const holder = startChild(STOPS_HOLDING_A_SLOT, { DB: databaseUrl, API: sim.url, QUSER: sim.username, QPASS: sim.password });
    await until('the holder to take the slot and stop', async () => (holder.output().includes('holding') && processState(holder.child) === 'T' ? true : undefined));
    const stoppedAt = Date.now();

    // Another worker's call, slow at Qualys, gets the slot while the holder is still stopped.
    sim.setFaults({ endpoint: 'hostList', latencyMs: 1_500 });
    const other = client.listHostIds();
    await until('the other worker\'s call to reach Qualys', async () => (sim.stats().calls.hostList >= 1 ? true : undefined), BOUND_MS + SLACK_MS);
    expect(Date.now() - stoppedAt).toBeLessThan(BOUND_MS + SLACK_MS);
    expect(processState(holder.child)).toBe('T');

    // Resumed in the middle of that call: its lease ran out while it was stopped, so it must not call.
    holder.child.kill('SIGCONT');
    await until('the holder to give up its call', async () => (/refused|called/.test(holder.output()) ? true : undefined));
    expect(holder.output()).toContain('refused concurrency-limit');
    await other;

    const stats = sim.stats();
    expect(stats.calls.hostList).toBe(1);
    expect(stats.peakInFlight).toBeLessThanOrEqual(1);
    expect(stats.errorsServed['409/1960']).toBeUndefined();
    await client.close();
  });

  it('a holder cut off from PostgreSQL by a network that went silent frees its slot within the bound, and learns it lost it', async () => {
    const databaseUrl = await freshDatabase();
    const url = new URL(databaseUrl);
    const proxy = await startTcpProxy(Number(url.port));
    proxies.push(proxy);
    const viaProxy = new URL(databaseUrl);
    viaProxy.port = String(proxy.port);
    const subscription = subscriptionKey('https://qualysapi.qualys.com', 'cut_off');
    const holder = startChild(HOLDS_A_SLOT, { DB: viaProxy.toString(), SUB: subscription });
    await until('the holder to take the slot', async () => (holder.output().includes('holding') ? true : undefined));
    expect((await heldAdvisoryLocks(databaseUrl)).map((l) => l.processId)).toEqual([holder.child.pid]);

    proxy.blackhole();
    const cutAt = Date.now();
    const store = await openStore({ databaseUrl, dataDir, slotLeaseMs: LEASE_MS });
    opened.push(store);
    const call = await store.apiGuard.enter(subscription, 'hostList', AbortSignal.timeout(BOUND_MS + SLACK_MS));
    expect(Date.now() - cutAt).toBeLessThan(BOUND_MS + SLACK_MS);
    expect((await heldAdvisoryLocks(databaseUrl)).map((l) => l.processId)).toEqual([process.pid]);
    // The holder, still cut off, counts its slot lost by its own clock (it cannot hear the server).
    await until('the holder to see its lease lapse', async () => (holder.output().includes('lapsed SlotLeaseLapsedError') ? true : undefined));
    await call.leave();
  });

  it("a holder whose connections the server drops (pg_terminate_backend) frees its slot at once and learns it lost it", async () => {
    const databaseUrl = await freshDatabase();
    const subscription = subscriptionKey('https://qualysapi.qualys.com', 'dropped');
    const holder = startChild(HOLDS_A_SLOT, { DB: databaseUrl, SUB: subscription });
    await until('the holder to take the slot', async () => (holder.output().includes('holding') ? true : undefined));

    const admin = new Pool({ connectionString: databaseUrl, max: 1 });
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`qualys-connector api-slots pid=${holder.child.pid}`]);
    } finally {
      await admin.end();
    }
    const store = await openStore({ databaseUrl, dataDir, slotLeaseMs: LEASE_MS });
    opened.push(store);
    const call = await store.apiGuard.enter(subscription, 'hostList', AbortSignal.timeout(SLACK_MS));
    await until('the holder to see its lease lapse', async () => (holder.output().includes('lapsed SlotLeaseLapsedError') ? true : undefined));
    await call.leave();
    expect(await heldAdvisoryLocks(databaseUrl)).toEqual([]);
  });
});

/** The process state letter from /proc (T: stopped). */
function processState(child: ChildProcess): string | undefined {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
