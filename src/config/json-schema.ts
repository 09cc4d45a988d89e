/**
 * The JSON Schema of `lifeboat.yaml`, derived from the zod schemas (the single source of truth), so
 * that YAML editors validate and complete the file: `config/schema.json`, kept current by a test.
 */
import { z } from 'zod';
import { VERSION } from '../version.ts';
import { configSchema } from './schema.ts';

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://lifeboat.invalid/schema/lifeboat.json',
    title: 'Lifeboat configuration (lifeboat.yaml)',
    description: `Lifeboat ${VERSION.split('.').slice(0, 2).join('.')}. Secrets (passwords, secret keys) are \${env:NAME} or \${file:PATH} references. Relative paths resolve against the file's folder.`,
  };
}
