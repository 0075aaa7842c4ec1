import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import { modelSchemaPath, renderModelJsonSchema } from '../../src/model/json-schema';
import { mapAsset, mapFindings } from '../../src/model/map-qualys';

describe('the exposure model JSON Schema', () => {
  it('is committed exactly as the zod schemas generate it (run `npm run schema` after changing the model)', () => {
    expect(readFileSync(modelSchemaPath(), 'utf8')).toBe(renderModelJsonSchema());
  });

  it('accepts what the mapping produces and rejects a record missing a required field', () => {
    const schema = JSON.parse(readFileSync(modelSchemaPath(), 'utf8')) as { $defs: Record<string, object> };
    const ajv = new Ajv2020({ strict: false });
    const validAsset = ajv.compile(schema.$defs.Asset);
    const validFinding = ajv.compile(schema.$defs.Finding);
    const asset = mapAsset('c', { id: '1', ip: '10.0.0.1', assetCriticalityScore: 3 }, undefined, '2026-01-01T00:00:00.000Z');
    const { findings } = mapFindings('c', '1', [{ qid: '9', type: 'Confirmed', status: 'New', ssl: false }], new Map([['9', { cves: ['CVE-2024-1234'] }]]), '2026-01-01T00:00:00.000Z');
    expect(validAsset(asset)).toBe(true);
    expect(validFinding(findings[0])).toBe(true);
    const { key: _key, ...withoutKey } = asset;
    expect(validAsset(withoutKey)).toBe(false);
  });
});
