import type { EveryField } from '../contracts/records';

/**
 * The record without the fields whose value is undefined, so records carry only what Qualys actually
 * sent. Takes every field of `T` by name (see `EveryField`): a builder cannot forget one.
 */
export function compact<T extends object>(record: EveryField<T>): T {
  // A fresh object rather than `delete`: deleting keys turns V8 objects into slow dictionaries.
  const out: Partial<Record<keyof T, unknown>> = {};
  for (const key in record) {
    const value = record[key];
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}
