import { execFile } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/config/project-paths';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

/** The pinned `temporal` CLI against the test server, exactly as a user types it (plus --address). */
export function temporalCli(args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  const cli = process.env.TEST_TEMPORAL_CLI;
  if (!cli) throw new Error('TEST_TEMPORAL_CLI is not set: run integration tests with `npm test`');
  return run(cli, [...args, '--address', process.env.TEST_TEMPORAL_ADDRESS ?? '', '--namespace', process.env.TEST_TEMPORAL_NAMESPACE ?? 'default'], {}, timeoutMs);
}

/** One of the project's compiled commands (`npm run <name> --` runs the same file after a build). */
export function projectCommand(script: 'schedule' | 'doctor' | 'export', args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CommandResult> {
  return run(process.execPath, [path.join(projectRoot(), 'lib', 'src', 'cli', `${script}.js`), ...args], env, timeoutMs);
}
