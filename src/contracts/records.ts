/**
 * A record written out field by field: every field of `T` named, an optional one possibly `undefined`.
 * Code that builds a record as `EveryField<T>` does not compile once a field is added to `T` (to its zod
 * schema) until it says where the new field comes from, so a new field cannot be dropped silently.
 */
export type EveryField<T> = { [K in keyof Required<T>]: T[K] };
