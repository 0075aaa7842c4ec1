/** Drops keys whose value is undefined, so records carry only what Qualys actually sent. */
export function compact<T extends object>(record: T): T {
  // A fresh object rather than `delete`: deleting keys turns V8 objects into slow dictionaries.
  const out: Partial<T> = {};
  for (const key in record) {
    if (record[key] !== undefined) out[key] = record[key];
  }
  return out as T;
}
