import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { projectRoot } from '../../src/config/project-paths';

/**
 * The official OCSF 1.8.0 classes as JSON Schema, vendored under test/fixtures/ocsf (see its VERSION,
 * LICENSE and build-schemas.sh): every attribute typed, enums and required attributes enforced,
 * unknown attributes refused.
 */
export type OcsfClass = 'vulnerability_finding' | 'inventory_info';

// Strict, except that OCSF's json_t attributes are typed as a union of JSON types.
const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
const validators = new Map<OcsfClass, ValidateFunction>();

function validator(ocsfClass: OcsfClass): ValidateFunction {
  let validate = validators.get(ocsfClass);
  if (!validate) {
    const file = path.join(projectRoot(), 'test', 'fixtures', 'ocsf', `${ocsfClass}.schema.json`);
    validate = ajv.compile(JSON.parse(readFileSync(file, 'utf8')) as object);
    validators.set(ocsfClass, validate);
  }
  return validate;
}

/** The schema's complaints about one event (none when it validates), each with the path it is about. */
export function ocsfErrors(ocsfClass: OcsfClass, event: unknown): string[] {
  const validate = validator(ocsfClass);
  if (validate(event)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
}
