/**
 * The Prometheus text format (0.0.4) of a prom-client registry. prom-client's own
 * `registry.metrics()` builds several arrays and strings per series: with a thousand jobs (about
 * 8,000 series, 550 KB) it takes ~35 ms a scrape on these machines and puts /metrics over its 50 ms
 * p99 budget. This renders the same values from `getMetricsAsJSON()` in one pass, ~3× faster;
 * test/metrics checks that the output is the same as prom-client's, line for line.
 */
import type { Registry } from 'prom-client';

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function value(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface Series {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

export async function exposition(registry: Registry): Promise<string> {
  let out = '';
  for (const m of await registry.getMetricsAsJSON()) {
    if (out !== '') out += '\n';
    out += `# HELP ${m.name} ${escapeHelp(m.help)}\n# TYPE ${m.name} ${m.type}\n`;
    for (const s of m.values as readonly Series[]) {
      out += s.metricName ?? m.name;
      let first = true;
      for (const k in s.labels) {
        const l = s.labels[k]!;
        out += `${first ? '{' : ','}${k}="${typeof l === 'string' ? escapeLabel(l) : l}"`;
        first = false;
      }
      out += `${first ? '' : '}'} ${value(s.value)}\n`;
    }
  }
  return out;
}
