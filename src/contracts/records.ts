/**
 * A record written out field by field: every field of `T` named, an optional one possibly `undefined`.
 * Code that builds a record as `EveryField<T>` does not compile once a field is added to `T` (to its zod
 * schema) until it says where the new field comes from, so a new field cannot be dropped silently.
 */
export type EveryField<T> = { [K in keyof Required<T>]: T[K] };

/**
 * The fields of `T` in a fixed order, every one of them: `fieldOrder<T>()([...])` is a type error naming
 * the fields of `T` the list leaves out, so a field added to `T` does not compile until it is placed.
 */
export function fieldOrder<T>() {
  return <const L extends ReadonlyArray<keyof T>>(
    fields: L & ([Exclude<keyof T, L[number]>] extends [never] ? unknown : { missingFields: Exclude<keyof T, L[number]> }),
  ): L => fields;
}
