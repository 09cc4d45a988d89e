// The alert rules: promtool accepts them and their unit tests pass; every rule has a severity, a
// summary, a description and a runbook that exists; every Lifeboat metric they use is one Lifeboat
// exports.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Metrics } from '../../src/metrics/metrics.ts';
import { execFileP } from '../helpers/streams.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = join(root, 'config', 'prometheus');

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe('alert rules', () => {
  it('pass promtool check rules and their promtool unit tests', async () => {
    await execFileP('promtool', ['check', 'rules', join(dir, 'alerts.yml')]);
    const r = await execFileP('promtool', ['test', 'rules', 'alerts.test.yml', 'alerts-days.test.yml'], { cwd: dir });
    expect(r.stdout).toMatch(/SUCCESS/);
  });

  it('each has a severity, a summary, a description and a runbook in runbooks/, and uses only metrics Lifeboat exports', async () => {
    const doc = parse(await readFile(join(dir, 'alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(9);
    const exported = new Set((await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name));
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
      const runbook = r.annotations?.runbook_url ?? '';
      expect(runbook, r.alert).toMatch(/^runbooks\/[a-z-]+\.md$/);
      await access(join(root, runbook));
      const page = await readFile(join(root, runbook), 'utf8');
      for (const heading of ['## Meaning', '## Impact', '## Diagnosis', '## Mitigation']) expect(page, runbook).toContain(heading);
      for (const name of r.expr.match(/lifeboat_[a-z_]+/g) ?? []) expect(exported.has(name), `${r.alert} uses ${name}`).toBe(true);
    }
  });
});

describe('metrics reference', () => {
  it('README.md lists every metric Lifeboat exports', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const names = (await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('lifeboat_'));
    for (const n of names) expect(readme, n).toContain(`| \`${n}\` |`);
  });
});
