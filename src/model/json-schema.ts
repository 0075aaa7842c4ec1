import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../config/project-paths';
import { MODEL_VERSION, assetSchema, findingSchema } from './exposure';

/** Where the committed JSON Schema of the exposure data model lives. */
export function modelSchemaPath(): string {
  return path.join(projectRoot(), 'schema', 'exposure-model.schema.json');
}

/** The JSON Schema of the model, generated from the zod schemas (the single source of truth). */
export function modelJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `urn:qualys-exposure-connector:exposure-model:${MODEL_VERSION}`,
    title: 'Qualys exposure connector data model',
    description: 'Records written by the connector: one Asset per Qualys host, one Finding per (asset, CVE).',
    version: MODEL_VERSION,
    $defs: {
      Asset: z.toJSONSchema(assetSchema, { target: 'draft-2020-12' }),
      Finding: z.toJSONSchema(findingSchema, { target: 'draft-2020-12' }),
    },
  };
}

export function renderModelJsonSchema(): string {
  return `${JSON.stringify(modelJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  writeFile(modelSchemaPath(), renderModelJsonSchema()).then(
    () => console.log(`wrote ${path.relative(process.cwd(), modelSchemaPath())}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
