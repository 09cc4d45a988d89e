// Lifeboat renders /metrics itself (prom-client's renderer is too slow for a thousand jobs); the
// text must be what prom-client would have written, and promtool must accept it.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { exposition } from '../../src/metrics/exposition.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { run } from '../helpers/streams.ts';

/** Both renderings as sorted lines: prom-client's values (process metrics) may move between calls. */
async function both(registry: Registry): Promise<[string[], string[]]> {
  const ours = await exposition(registry);
  const theirs = await registry.metrics();
  const stable = (t: string): string[] => t.split('\n').filter((l) => !/^(process_|nodejs_)/.test(l)).sort();
  return [stable(ours), stable(theirs)];
}

describe('metrics exposition', () => {
  it('writes the same text as prom-client, escapes included', async () => {
    const r = new Registry();
    const g = new Gauge({ name: 'x_gauge', help: 'a "help" with \\ and\nnewline', labelNames: ['a', 'b'], registers: [r] });
    g.set({ a: 'plain', b: 'quote " backslash \\ newline \n end' }, 1.5);
    g.set({ a: 'inf', b: '' }, Infinity);
    g.set({ a: 'ninf', b: '' }, -Infinity);
    new Counter({ name: 'x_total', help: 'c', registers: [r] }).inc(3);
    const h = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['j'], buckets: [1, 5], registers: [r] });
    h.observe({ j: 'one' }, 2);
    new Gauge({ name: 'x_empty', help: 'no series yet', registers: [r] });
    const [ours, theirs] = await both(r);
    expect(ours).toEqual(theirs);
  });

  it('renders every Lifeboat metric as prom-client does, and promtool accepts it', async () => {
    const m = new Metrics();
    m.backupLastSuccess.set({ backup_job: 'app', site: 'a' }, 1795760000);
    m.backupRuns.inc({ backup_job: 'app', outcome: 'success' });
    m.backupDuration.observe({ backup_job: 'app' }, 12.5);
    m.siteUp.set({ site: 'a' }, 1);
    const [ours, theirs] = await both(m.registry);
    expect(ours).toEqual(theirs);
    await run('promtool', ['check', 'metrics'], Buffer.from(await exposition(m.registry)));
  });
});
