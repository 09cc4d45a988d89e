/** `lifeboat snapshots <job>`: the committed snapshots of a job, per site, newest first. */
import type { Command } from 'commander';
import { Context } from '../../operations/context.ts';
import { listSnapshots } from '../../operations/snapshots.ts';
import { load } from '../config-path.ts';
import { formatBytes, type Out } from '../output.ts';

export function register(program: Command, run: (fn: (out: Out) => Promise<number>) => Promise<void>): void {
  program
    .command('snapshots')
    .description('list the snapshots of a job')
    .argument('<job>', 'job name from the config')
    .option('-c, --config <file>', 'config file')
    .option('--site <site>', 'only this site')
    .option('--json', 'machine-readable output')
    .action((jobName: string, o: { config?: string; site?: string; json?: boolean }) =>
      run(async (out) => {
        const ctx = new Context(await load(o.config));
        try {
          const list = await listSnapshots(ctx, jobName, o.site === undefined ? {} : { site: o.site });
          const rows = list.snapshots.map((s) => ({
            id: s.id,
            createdAt: s.manifest.createdAt,
            sourceBytes: s.manifest.payload.plaintext.bytes,
            storedBytes: s.manifest.payload.ciphertext.bytes,
            sites: s.sites,
          }));
          const problems = list.listings.flatMap((l) => [
            ...(l.error ? [`site ${l.site}: could not list: ${l.error.message}`] : []),
            ...(l.noRepository ? [`site ${l.site}: ${l.noRepository}`] : []),
            ...l.damaged.map((d) => `site ${l.site}: snapshot ${d.id} is damaged: ${d.reason}`),
          ]);
          const human = [
            rows.length === 0 ? `no snapshots of ${list.job}` : `${'SNAPSHOT'.padEnd(24)}  ${'CREATED (UTC)'.padEnd(20)}  ${'SIZE'.padStart(10)}  ${'STORED'.padStart(10)}  SITES`,
            ...rows.map((r) => `${r.id.padEnd(24)}  ${r.createdAt.slice(0, 19).replace('T', ' ').padEnd(20)}  ${formatBytes(r.sourceBytes).padStart(10)}  ${formatBytes(r.storedBytes).padStart(10)}  ${r.sites.join(', ')}`),
            ...problems.map((p) => `warning: ${p}`),
          ].join('\n');
          out.result(human, { job: list.job, snapshots: rows, problems });
          return list.listings.some((l) => l.error) ? 1 : 0;
        } finally {
          ctx.close();
        }
      }),
    );
}
