// The Grafana dashboard: valid JSON with the datasource as an input, and every query uses only
// metrics Lifeboat exports (a renamed metric would otherwise leave an empty panel).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.ts';
import { execFileP } from '../helpers/streams.ts';

describe('Grafana dashboard', () => {
  it('uses only metrics Lifeboat exports, through the datasource input', async () => {
    const dash = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'config', 'grafana', 'lifeboat.json'), 'utf8')) as {
      __inputs: { name: string }[];
      panels: { title: string; targets: { expr: string; datasource: { uid: string } }[] }[];
      templating: { list: { definition: string }[] };
    };
    expect(dash.__inputs.map((i) => i.name)).toEqual(['DS_PROMETHEUS']);
    const exported = new Set((await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const queries = [...dash.panels.flatMap((p) => p.targets.map((t) => ({ where: p.title, expr: t.expr, uid: t.datasource.uid }))), ...dash.templating.list.map((v) => ({ where: 'variable', expr: v.definition, uid: '${DS_PROMETHEUS}' }))];
    expect(queries.length).toBeGreaterThan(8);
    for (const q of queries) {
      expect(q.uid, q.where).toBe('${DS_PROMETHEUS}');
      const names = (q.expr.match(/lifeboat_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, ''));
      expect(names.length, q.where).toBeGreaterThan(0);
      for (const n of names) expect(exported.has(n), `${q.where}: ${n}`).toBe(true);
    }
    // Valid PromQL once Grafana's variables are filled in: promtool parses them as recording rules.
    const rules = queries
      .filter((q) => q.where !== 'variable')
      .map((q, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(q.expr.replace(/\$__rate_interval/g, '5m').replace(/\$job/g, '.*'))}`);
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-dash-'));
    try {
      await writeFile(join(dir, 'rules.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      await execFileP('promtool', ['check', 'rules', join(dir, 'rules.yml')]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
