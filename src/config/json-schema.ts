/**
 * The JSON Schema of `lifeboat.yaml`, derived from the zod schemas (the single source of truth), so
 * that YAML editors validate and complete the file: `config/schema.json`, kept current by a test.
 */
import * as z from 'zod';
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

type Node = Record<string, unknown>;

/** A short type text for a schema node: `string`, `integer 1-64`, `"fail" | "skip"`, `list of string`. */
function typeText(n: Node): string {
  if (n.const !== undefined) return JSON.stringify(n.const);
  if (Array.isArray(n.enum)) return (n.enum as unknown[]).map((v) => JSON.stringify(v)).join(' \\| ');
  if (Array.isArray(n.anyOf) || Array.isArray(n.oneOf)) return ((n.anyOf ?? n.oneOf) as Node[]).map(typeText).join(' or ');
  if (n.type === 'array') return `list of ${typeText((n.items as Node) ?? {})}`;
  if (n.type === 'integer' || n.type === 'number') {
    const max = typeof n.maximum === 'number' && n.maximum < Number.MAX_SAFE_INTEGER ? n.maximum : undefined;
    const range = n.minimum !== undefined && max !== undefined ? ` ${String(n.minimum)}-${max}` : n.minimum !== undefined ? ` ≥ ${String(n.minimum)}` : '';
    return `${String(n.type)}${range}`;
  }
  if (typeof n.pattern === 'string' && n.pattern.includes('(ms|s|m|h|d|w)')) return 'duration (90s, 15m, 6h, 7d)';
  if (n.format === 'uri') return 'URL';
  if (n.type === 'object') return n.additionalProperties && typeof n.additionalProperties === 'object' && !n.properties ? 'map' : 'object';
  if (Array.isArray(n.type)) return (n.type as string[]).join(' or ');
  return typeof n.type === 'string' ? n.type : 'any';
}

function walk(n: Node, path: string, required: boolean, rows: string[]): void {
  const variants = (n.oneOf ?? n.anyOf) as Node[] | undefined;
  if (variants && variants.every((v) => v.type === 'object')) {
    // Typed variants (sites, sources, targets) are labelled by their type; others (checks) listed in turn.
    for (const v of variants) {
      const t = ((v.properties as Node | undefined)?.type as Node | undefined)?.const;
      walk(v, t === undefined ? path : `${path} (type: ${String(t)})`, required, rows);
    }
    return;
  }
  const props = n.properties as Record<string, Node> | undefined;
  if (n.type === 'object' && props) {
    const req = new Set((n.required as string[] | undefined) ?? []);
    for (const [k, child] of Object.entries(props)) walk(child, path ? `${path}.${k}` : k, req.has(k), rows);
    return;
  }
  if (n.type === 'object' && n.additionalProperties && typeof n.additionalProperties === 'object') {
    walk(n.additionalProperties as Node, `${path}.<name>`, false, rows);
    return;
  }
  const items = n.items as Node | undefined;
  if (n.type === 'array' && (items?.type === 'object' || items?.anyOf || items?.oneOf)) {
    walk(items, `${path}[]`, true, rows);
    return;
  }
  const dflt = n.default === undefined ? '' : `\`${JSON.stringify(n.default)}\``;
  rows.push(`| \`${path}\` | ${typeText(n)} | ${required ? 'yes' : ''} | ${dflt} |`);
}

/** The configuration reference as a Markdown table, from the same schema (README, kept current by a test). */
export function configReference(): string {
  const rows: string[] = [];
  walk(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Node, '', true, rows);
  return ['| key | type | required | default |', '|---|---|---|---|', ...rows].join('\n');
}
