import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { projectRoot } from '../config/project-paths';
import { WORKFLOW_TRACING_MODULE } from '../telemetry/tracing';

/**
 * Bundles the workflow code once; the worker loads the file instead of running webpack at every start.
 * Temporal's OpenTelemetry workflow interceptor goes in with it: it only creates spans (deterministically,
 * inside the sandbox) and hands them to the worker's `exporter` sink, which drops them when tracing is off.
 */
export async function buildWorkflowBundle(outFile: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(projectRoot(), 'src', 'workflows', 'index.ts'),
    workflowInterceptorModules: [WORKFLOW_TRACING_MODULE],
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: console.warn, error: console.error },
  });
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, code);
  return outFile;
}

if (require.main === module) {
  const outFile = process.argv[2] ?? path.join(projectRoot(), 'lib', 'workflow-bundle.js');
  buildWorkflowBundle(outFile).then(
    (file) => console.error(`workflow bundle written to ${path.relative(process.cwd(), file)}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
