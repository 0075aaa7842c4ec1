import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FAILURE_TABLE, type FailureKind, type FailureType } from '../contracts/failure-table';
import { projectRoot } from '../config/project-paths';

// The README's retry table is generated from the failure table (`npm run docs:retry-table`), and a unit
// test holds the README to it, so the documented treatment of a failure is the one the code applies.

export const RETRY_TABLE_START = '<!-- retry table: generated from src/contracts/failure-table.ts by `npm run docs:retry-table` -->';
export const RETRY_TABLE_END = '<!-- end of the generated retry table -->';

export function readmePath(): string {
  return path.join(projectRoot(), 'README.md');
}

/** The retry table as Markdown: one row per failure type, in the failure table's order. */
export function renderRetryTable(): string {
  const rows = (Object.keys(FAILURE_TABLE) as FailureType[]).map((type) => {
    const kind: FailureKind = FAILURE_TABLE[type];
    return `| ${[kind.cause, `\`${type}\``, retried(kind), kind.how, kind.runSays, kind.userDoes, kind.tests].join(' | ')} |`;
  });
  return [
    '| failure | type | retried | how | what the run says | what to do | test |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function retried(kind: FailureKind): string {
  switch (kind.retry) {
    case 'non-retryable':
      return 'no';
    case 'retryable':
      return 'attempts' in kind && kind.attempts !== undefined ? `${kind.attempts} attempts` : 'yes';
    case 'rate-limit-wait':
      return 'after the wait';
  }
}

/** The README with its retry table (between the markers) replaced by `table`. */
export function withRetryTable(readme: string, table: string): string {
  const start = readme.indexOf(RETRY_TABLE_START);
  const end = readme.indexOf(RETRY_TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no retry table between "${RETRY_TABLE_START}" and "${RETRY_TABLE_END}".`);
  return `${readme.slice(0, start + RETRY_TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

if (require.main === module) {
  readFile(readmePath(), 'utf8')
    .then((readme) => writeFile(readmePath(), withRetryTable(readme, renderRetryTable())))
    .then(
      () => console.log(`wrote the retry table into ${path.relative(process.cwd(), readmePath())}`),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
}
