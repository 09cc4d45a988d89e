/**
 * `lifeboat verify <job>`: check every snapshot on every site (size and SHA-256; `--deep` also
 * decrypts and decompresses); exit 1 naming each damaged snapshot and site. `lifeboat heal <job>`:
 * copy snapshots to the sites that lack them or hold a damaged copy.
 */
import type { Command } from 'commander';
import { Context } from '../../operations/context.ts';
import { runLeasedByHand } from '../../operations/leased.ts';
import { heal, verify } from '../../operations/verify.ts';
import { load } from '../config-path.ts';
import type { Out } from '../output.ts';

export function register(program: Command, run: (fn: (out: Out, signal: AbortSignal) => Promise<number>) => Promise<void>): void {
  program
    .command('verify')
    .description('check every snapshot of a job on every site against its manifest')
    .argument('<job>', 'job name from the config')
    .option('-c, --config <file>', 'config file')
    .option('--site <site>', 'only this site')
    .option('--deep', 'also decrypt and decompress every snapshot to the end (needs the identity)')
    .option('--json', 'machine-readable output')
    .action((jobName: string, o: { config?: string; site?: string; deep?: boolean; json?: boolean }) =>
      run(async (out, signal) => {
        const ctx = new Context(await load(o.config));
        try {
          let n = 0;
          const onSnapshot = (): void => {
            n++;
            out.progress(() => `checked ${n} snapshot copies`);
          };
          const r = await verify(ctx, jobName, { ...(o.site !== undefined ? { site: o.site } : {}), deep: o.deep ?? false, signal, onSnapshot });
          const bad = r.checked.filter((c) => !c.ok);
          const human = [
            `${r.checked.length} snapshot copies checked${r.deep ? ' (deep: decrypted and decompressed)' : ''}: ${r.checked.length - bad.length} good, ${bad.length} damaged`,
            ...bad.map((c) => `DAMAGED ${c.snapshotId} on site ${c.site}: ${c.problem}`),
            ...r.unreachable.map((u) => `UNREACHABLE site ${u.site}: ${u.error}`),
            ...(bad.length > 0 ? [`\`lifeboat heal ${r.job} --check\` copies good copies over damaged ones`] : []),
          ].join('\n');
          out.result(human, r);
          return r.ok ? 0 : 1;
        } finally {
          ctx.close();
        }
      }),
    );

  program
    .command('heal')
    .description('copy snapshots to the sites of a job that lack them or hold a damaged copy')
    .argument('<job>', 'job name from the config')
    .option('-c, --config <file>', 'config file')
    .option('--check', 'verify existing copies first (reads them in full) and replace damaged ones')
    .option('--json', 'machine-readable output')
    .action((jobName: string, o: { config?: string; check?: boolean; json?: boolean }) =>
      run(async (out, signal) => {
        const ctx = new Context(await load(o.config));
        try {
          // It writes the job's snapshots: under the backup lease, which a backup's sweep respects.
          const r = await runLeasedByHand(ctx, jobName, signal, (leased) => heal(ctx, jobName, { check: o.check ?? false, signal: leased }));
          const human = [
            r.copied.length === 0 && r.failed.length === 0 ? `every site of ${r.job} holds every snapshot` : `${r.copied.length} snapshot copies made`,
            ...r.copied.map((c) => `copied ${c.snapshotId} from ${c.from} to ${c.to}`),
            ...r.failed.map((f) => `FAILED ${f.snapshotId} to ${f.to}: ${f.error}`),
            ...r.unreachable.map((u) => `UNREACHABLE site ${u.site}: ${u.error}`),
          ].join('\n');
          out.result(human, r);
          return r.failed.length === 0 && r.unreachable.length === 0 ? 0 : 1;
        } finally {
          ctx.close();
        }
      }),
    );
}
