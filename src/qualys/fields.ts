/**
 * Several fields of one schema: `...fieldsOf(text, 'IP', 'IPV6')` is `IP: text, IPV6: text`. Records
 * and elements list runs of alike optional fields this way, one line a run.
 */
export function fieldsOf<const Name extends string, Schema>(schema: Schema, ...names: Name[]): Record<Name, Schema> {
  return Object.fromEntries(names.map((name) => [name, schema])) as Record<Name, Schema>;
}
