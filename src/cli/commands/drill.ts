/**
 * `lifeboat drill <job>`: restore a snapshot into a scratch target now, run the job's checks, and
 * report the measured recovery time; exit 1 unless the drill passed. `lifeboat drills <job>`: the
 * drill history from the job's sites.
 */
import type { Command } from 'commander';
import type { DrillReport } from '../../catalog/drill-report.ts';
import { Context } from '../../operations/context.ts';
import { drill, drillHistory } from '../../operations/drill.ts';
import { load } from '../config-path.ts';
import { formatBytes, type Out } from '../output.ts';

const OUTCOME_TEXT = { passed: 'PASSED', failed: 'FAILED', slow: 'SLOW (passed its checks, over the RTO objective)' } as const;

function describeReport(r: DrillReport): string {
  const lines = [
    `drill ${r.drillId} of ${r.job}: ${OUTCOME_TEXT[r.outcome]}`,
    ...(r.snapshotId ? [`  snapshot ${r.snapshotId} (captured ${r.snapshotCreatedAt}) from site ${r.site ?? '?'}`] : []),
    `  target: ${r.target.description}`,
    ...(r.recoveryTimeSeconds !== undefined
      ? [`  recovery time ${r.recoveryTimeSeconds.toFixed(1)} s${r.rtoObjectiveSeconds !== undefined ? ` (objective ${r.rtoObjectiveSeconds} s)` : ''}: restore ${r.phases.restoreSeconds.toFixed(1)} s, checks ${r.phases.checksSeconds.toFixed(1)} s; scratch target prepared in ${r.phases.prepareSeconds.toFixed(1)} s`]
      : []),
    ...(r.restoredBytes !== undefined ? [`  restored ${formatBytes(r.restoredBytes)}`] : []),
    ...(r.error ? [`  error: ${r.error}`] : []),
    ...r.checks.map((c) => `  ${c.passed ? 'ok  ' : 'FAIL'} ${c.name}: observed ${c.observed}${c.expected ? `; expected ${c.expected}` : ''}`),
    ...(r.warnings ?? []).map((w) => `  warning: ${w}`),
  ];
  return lines.join('\n');
}

export function register(program: Command, run: (fn: (out: Out, signal: AbortSignal) => Promise<number>) => Promise<void>): void {
  program
    .command('drill')
    .description('restore a snapshot into a scratch target, run the checks, measure the recovery time')
    .argument('<job>', 'job name from the config')
    .option('-c, --config <file>', 'config file')
    .option('--snapshot <id>', 'snapshot id or "latest"', 'latest')
    .option('--site <site>', 'drill from this site')
    .option('--json', 'machine-readable output')
    .action((jobName: string, o: { config?: string; snapshot: string; site?: string; json?: boolean }) =>
      run(async (out, signal) => {
        const ctx = new Context(await load(o.config));
        try {
          const { report, unwritten } = await drill(ctx, jobName, {
            snapshot: o.snapshot,
            ...(o.site !== undefined ? { site: o.site } : {}),
            signal,
            onProgress: (p) => out.progress(() => `${p.phase}${p.bytes !== undefined ? ` ${formatBytes(p.bytes)}${p.total ? ` of ${formatBytes(p.total)}` : ''}` : ''}`),
          });
          const human = [describeReport(report), ...unwritten.map((u) => `warning: the report could not be written to site ${u.site}: ${u.error}`)].join('\n');
          out.result(human, { ...report, unwritten });
          return report.outcome === 'passed' ? 0 : 1;
        } finally {
          ctx.close();
        }
      }),
    );

  program
    .command('drills')
    .description('list the drill history of a job, newest first')
    .argument('<job>', 'job name from the config')
    .option('-c, --config <file>', 'config file')
    .option('-n, --limit <n>', 'at most this many', '20')
    .option('--json', 'machine-readable output')
    .action((jobName: string, o: { config?: string; limit: string; json?: boolean }) =>
      run(async (out) => {
        const ctx = new Context(await load(o.config));
        try {
          const { reports, errors } = await drillHistory(ctx, jobName);
          const shown = reports.slice(0, Math.max(1, Number(o.limit) || 20));
          const human = [
            shown.length === 0
              ? `no drills of ${jobName} yet`
              : `${'DRILL'.padEnd(24)}  ${'OUTCOME'.padEnd(7)}  ${'SNAPSHOT'.padEnd(24)}  ${'SITE'.padEnd(10)}  ${'RTO'.padStart(8)}  CHECKS`,
            ...shown.map(
              (r) =>
                `${r.drillId.padEnd(24)}  ${r.outcome.padEnd(7)}  ${(r.snapshotId ?? '-').padEnd(24)}  ${(r.site ?? '-').padEnd(10)}  ${(r.recoveryTimeSeconds === undefined ? '-' : `${r.recoveryTimeSeconds.toFixed(1)} s`).padStart(8)}  ${r.checks.filter((c) => c.passed).length}/${r.checks.length}${r.error ? `  ${r.error.slice(0, 80)}` : ''}`,
            ),
            ...errors.map((e) => `warning: ${e}`),
          ].join('\n');
          out.result(human, { job: jobName, drills: shown, errors });
          return 0;
        } finally {
          ctx.close();
        }
      }),
    );
}
