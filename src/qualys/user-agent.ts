import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const PACKAGE_NAME = 'qualys-exposure-connector';

let cached: string | undefined;

/**
 * `qualys-exposure-connector/<version>`, the version read from the project's package.json. Found by
 * walking up from this file, so it works from src/ (ts-jest) and from the compiled lib/src/.
 */
export function connectorUserAgent(): string {
  cached ??= `${PACKAGE_NAME}/${readVersion() ?? '0.0.0'}`;
  return cached;
}

function readVersion(): string | undefined {
  let dir = __dirname;
  for (let depth = 0; depth < 6; depth++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg: unknown = JSON.parse(readFileSync(file, 'utf8'));
        if (isOurPackage(pkg)) return pkg.version;
      } catch {
        // An unreadable package.json on the way up is not ours; keep looking.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

function isOurPackage(pkg: unknown): pkg is { name: string; version: string } {
  if (typeof pkg !== 'object' || pkg === null) return false;
  const { name, version } = pkg as { name?: unknown; version?: unknown };
  return name === PACKAGE_NAME && typeof version === 'string';
}
