import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../src/config/project-paths';

/** How much of a worker's output the soak keeps, to show when something goes wrong. */
const OUTPUT_TAIL = 20_000;
const START_TIMEOUT_MS = 60_000;

/**
 * One production worker process (`lib/src/worker/main.js`) of the soak, which the faults kill, stop and
 * resume. A killed worker is started again at once, as a supervisor (systemd, Kubernetes) would; a start
 * while PostgreSQL or Temporal is down fails, and is tried again until one succeeds.
 */
export class ChaosWorker {
  #child: ChildProcess | undefined;
  #exited: Promise<unknown> = Promise.resolve();
  #output = '';

  constructor(
    readonly name: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The last lines the worker wrote. */
  outputTail(): string {
    return this.#output;
  }

  /** Starts the worker and waits until it polls its task queue, trying again while a start fails. */
  async start(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const exitedEarly = await this.#startOnce();
      if (!exitedEarly) return;
      if (Date.now() > deadline) throw new Error(`worker ${this.name} did not start within ${START_TIMEOUT_MS} ms:\n${this.#output}`);
      await sleep(500);
    }
  }

  /** SIGKILL, then a new process in its place. */
  async kill(): Promise<void> {
    this.#child?.kill('SIGCONT');
    this.#child?.kill('SIGKILL');
    await this.#exited;
    await this.start();
  }

  /** SIGSTOP for `ms`, then SIGCONT. */
  async pause(ms: number): Promise<void> {
    this.#child?.kill('SIGSTOP');
    await sleep(ms);
    this.#child?.kill('SIGCONT');
  }

  async close(): Promise<void> {
    this.#child?.kill('SIGCONT');
    this.#child?.kill('SIGKILL');
    await this.#exited;
  }

  /** Resolves false once the worker polls, true if it exited first. */
  async #startOnce(): Promise<boolean> {
    const child = spawn(process.execPath, [path.join(projectRoot(), 'lib', 'src', 'worker', 'main.js')], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    let polling = false;
    let own = '';
    const onOutput = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-OUTPUT_TAIL);
      if (!polling) own += chunk.toString();
      if (own.includes('worker polling')) polling = true;
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    let exited = false;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve((exited = true))));
    this.#output += `\n--- ${this.name} started (pid ${child.pid}) ---\n`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!polling && !exited) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`worker ${this.name} did not poll within ${START_TIMEOUT_MS} ms:\n${this.#output}`);
      }
      await sleep(100);
    }
    return !polling;
  }
}
