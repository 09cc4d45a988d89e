// config/schema.json is the JSON Schema of lifeboat.yaml for editors: current with the code, and
// it accepts the example config and rejects an unknown key.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configJsonSchema, configReference } from '../../src/config/json-schema.ts';

const root = join(import.meta.dirname, '..', '..');

describe('config/schema.json', () => {
  it('is what `lifeboat config schema` prints (regenerate: npm run schema)', async () => {
    expect(JSON.parse(await readFile(join(root, 'config', 'schema.json'), 'utf8'))).toEqual(configJsonSchema());
  });

  it('accepts the example config and rejects a misspelt key', async () => {
    const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(configJsonSchema());
    const example = parse(await readFile(join(root, 'config', 'lifeboat.example.yaml'), 'utf8')) as Record<string, unknown>;
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...example, deamon: {} })).toBe(false);
  });
});

describe('the configuration reference in README.md', () => {
  it('is what `lifeboat config reference` prints', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const block = /<!-- config-reference:start -->\n([\s\S]*?)\n<!-- config-reference:end -->/.exec(readme)?.[1];
    expect(block, 'README.md lacks the reference block').toBeDefined();
    expect(block).toBe(configReference());
  });
});
