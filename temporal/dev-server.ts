import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { projectRoot } from '../src/config/project-paths';
import { PROJECT_SEARCH_ATTRIBUTES } from './search-attributes';

const execFileAsync = promisify(execFile);

export interface DevServerOptions {
  /** Path to the pinned CLI; found (or built) with temporal/ensure-cli.sh when absent. */
  cliPath?: string;
  ip?: string;
  /** gRPC frontend port; 0 picks a free one. */
  port?: number;
  /** Web UI port; 0 picks a free one; `false` runs headless. */
  uiPort?: number | false;
  /** SQLite file so runs survive a restart; in-memory when absent. */
  dbFile?: string;
  namespace?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'never';
  /** Extra `--dynamic-config-value KEY=JSON` pairs (e.g. a low continue-as-new threshold in tests). */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** Where the server's own output goes; defaults to this process's stderr. */
  stdio?: 'inherit' | 'ignore';
  startTimeoutMs?: number;
}

export interface RunningDevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  cliPath: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Runs temporal/ensure-cli.sh and returns the CLI path it prints (its progress goes to our stderr). */
export async function ensureTemporalCli(): Promise<string> {
  const script = path.join(projectRoot(), 'temporal', 'ensure-cli.sh');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const cliPath = out.trim().split('\n').pop() ?? '';
      if (code === 0 && cliPath) resolve(cliPath);
      else reject(new Error(`temporal/ensure-cli.sh could not provide the Temporal CLI (exit ${code}); see its messages above`));
    });
  });
}

export async function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, ip, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function isPortInUse(port: number, ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: ip });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts `temporal server start-dev` with the project's search attributes and waits until it answers. */
export async function startDevServer(options: DevServerOptions = {}): Promise<RunningDevServer> {
  const cliPath = options.cliPath ?? (await ensureTemporalCli());
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const port = options.port === undefined || options.port === 0 ? await freePort(ip) : options.port;
  const uiPort = options.uiPort === false ? undefined : options.uiPort ? options.uiPort : await freePort(ip);

  for (const [what, p] of [['gRPC', port], ['Web UI', uiPort]] as const) {
    if (p !== undefined && (await isPortInUse(p, ip))) {
      throw new Error(
        `Port ${p} (${what}) on ${ip} is already in use. Stop whatever holds it (another dev server?) ` +
          `or choose other ports (TEMPORAL_PORT / TEMPORAL_UI_PORT).`,
      );
    }
  }

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--namespace', namespace];
  args.push('--log-level', options.logLevel ?? 'warn', '--log-format', 'json');
  if (uiPort !== undefined) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  if (options.dbFile) {
    mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const key of PROJECT_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${key.type}`);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }

  const child = spawn(cliPath, args, { stdio: ['ignore', options.stdio ?? 'inherit', options.stdio ?? 'inherit'] });
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));

  const address = `${ip}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`temporal server start-dev ${exited} before it was ready (args: ${args.join(' ')})`);
    if (await answers(address, namespace)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal server start-dev did not answer on ${address} within ${options.startTimeoutMs ?? 60_000} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    address,
    namespace,
    uiUrl: uiPort !== undefined ? `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${uiPort}` : undefined,
    cliPath,
    process: child,
    stop: () => stopChild(child),
  };
}

async function answers(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Version line of a CLI binary, e.g. "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)". */
export async function cliVersion(cliPath: string): Promise<string> {
  const { stdout } = await execFileAsync(cliPath, ['--version']);
  return stdout.trim();
}
