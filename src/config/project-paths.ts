import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The project's root folder, found by walking up to package.json. Works the same from the TypeScript
 * sources (ts-jest) and from the compiled copy under lib/.
 */
export function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** Default data directory: runs' output, staging and the dev server's SQLite file live below it. */
export function defaultDataDir(): string {
  return process.env.QUALYS_CONNECTOR_DATA_DIR ?? path.join(projectRoot(), 'data');
}
