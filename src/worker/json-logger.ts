import { DefaultLogger, type LogLevel } from '@temporalio/worker';

/**
 * Structured logs: one JSON object per line (time, level, message, then the SDK's metadata such as
 * workflowId, activityType, attempt). Known secrets are masked as a last line of defence: the
 * connector never logs them on purpose.
 */
export function createJsonLogger(level: LogLevel, secrets: readonly string[], write: (line: string) => void = (l) => process.stdout.write(l)): DefaultLogger {
  const masks = secrets.filter((s) => s.length >= 4);
  return new DefaultLogger(level, (entry) => {
    const record = {
      time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
      level: entry.level.toLowerCase(),
      message: entry.message,
      ...plain(entry.meta ?? {}),
    };
    let line = JSON.stringify(record);
    for (const secret of masks) line = line.split(secret).join('***');
    write(`${line}\n`);
  });
}

/** Errors become {name, message, type}: JSON.stringify would print them as {}. */
function plain(meta: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(meta).map(([key, value]) => [
      key,
      value instanceof Error ? { name: value.name, message: value.message, ...('type' in value ? { type: value.type } : {}) } : value,
    ]),
  );
}
