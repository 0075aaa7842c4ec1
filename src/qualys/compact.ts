/** Drops keys whose value is undefined, so records carry only what Qualys actually sent. */
export function compact<T extends object>(record: T): T {
  const copy = { ...record };
  for (const key of Object.keys(copy) as Array<keyof T>) {
    if (copy[key] === undefined) delete copy[key];
  }
  return copy;
}
