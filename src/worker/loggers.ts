import { inspect } from 'node:util';
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';
import type { SecretMasker } from '../config/secrets';

export type LogFormat = 'json' | 'text';

/**
 * The worker's logger, in either format, every line through the one secret masker: the connector never
 * logs a secret on purpose, but a message may quote what a server sent back.
 *
 * - json: one object per line on stdout (time, level, message, then the SDK's metadata such as
 *   workflowId, activityType, attempt);
 * - text: `time [LEVEL] message {metadata}` on stderr, for people.
 */
export function createLogger(
  format: LogFormat,
  level: LogLevel,
  masker: SecretMasker,
  write: (line: string) => void = format === 'json' ? (l) => process.stdout.write(l) : (l) => process.stderr.write(l),
): DefaultLogger {
  const render = format === 'json' ? jsonLine : textLine;
  return new DefaultLogger(level, (entry) => write(`${masker.mask(render(entry))}\n`));
}

function time(entry: LogEntry): string {
  return new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
}

function jsonLine(entry: LogEntry): string {
  return JSON.stringify({ time: time(entry), level: entry.level.toLowerCase(), message: entry.message, ...plain(entry.meta ?? {}) });
}

function textLine(entry: LogEntry): string {
  const meta = entry.meta && Object.keys(entry.meta).length > 0 ? ` ${inspect(plain(entry.meta), { breakLength: Infinity, depth: 4 })}` : '';
  return `${time(entry)} [${entry.level}] ${entry.message}${meta}`;
}

/** Errors become {name, message, type}: JSON.stringify would print them as {}, and their stacks may quote too much. */
function plain(meta: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(meta).map(([key, value]) => [
      key,
      value instanceof Error ? { name: value.name, message: value.message, ...('type' in value ? { type: value.type } : {}) } : value,
    ]),
  );
}
