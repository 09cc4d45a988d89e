/**
 * Walks the zod schema alongside the document to list the keys allowed at a path, so that an
 * unknown key can be answered with the nearest valid one. Discriminated unions pick their branch
 * from the document's own `type` value.
 */
import type { z } from 'zod';
import type { PathSegment } from './locate.ts';
import { configSchema } from './schema.ts';

type Def = { type: string; [k: string]: unknown };

function def(schema: unknown): Def {
  return (schema as { _zod: { def: Def } })._zod.def;
}

function unwrap(schema: unknown): unknown {
  let s = schema;
  for (;;) {
    const d = def(s);
    if (d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'readonly') s = d.innerType;
    else if (d.type === 'pipe') s = d.in;
    else return s;
  }
}

function pickUnion(schema: unknown, value: unknown): unknown {
  const d = def(schema);
  const options = (d.options as unknown[]) ?? [];
  const type = value !== null && typeof value === 'object' ? (value as Record<string, unknown>).type : undefined;
  return options.find((o) => {
    const shape = def(unwrap(o)).shape as Record<string, z.ZodType> | undefined;
    const lit = shape?.type ? def(shape.type) : undefined;
    return lit?.type === 'literal' && (lit.values as unknown[]).includes(type);
  });
}

export function allowedKeys(path: readonly PathSegment[], doc: unknown): string[] {
  let schema: unknown = configSchema;
  let value: unknown = doc;
  for (const seg of [...path, undefined]) {
    schema = unwrap(schema);
    let d = def(schema);
    if (d.type === 'union') {
      schema = pickUnion(schema, value);
      if (schema === undefined) return [];
      schema = unwrap(schema);
      d = def(schema);
    }
    if (seg === undefined) return d.type === 'object' ? Object.keys(d.shape as object) : [];
    if (d.type === 'object') schema = (d.shape as Record<string, unknown>)[String(seg)];
    else if (d.type === 'record') schema = d.valueType;
    else if (d.type === 'array') schema = d.element;
    else return [];
    if (schema === undefined) return [];
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[String(seg)] : undefined;
  }
  return [];
}
