/**
 * `lifeboat config check`: validate a config file; exit 0 with a summary, or 2 with every error.
 * `lifeboat config schema`: print the JSON Schema of the file (for editors; config/schema.json).
 * `lifeboat config reference`: print every key with its type and default (README's reference).
 */
import type { Command } from 'commander';
import { configJsonSchema, configReference } from '../../config/json-schema.ts';
import { configWarnings } from '../../config/warnings.ts';
import { load } from '../config-path.ts';
import type { Out } from '../output.ts';

export function register(program: Command, run: (fn: (out: Out) => Promise<number>) => Promise<void>): void {
  const config = program.command('config').description('work with the configuration file');
  config
    .command('check')
    .description('validate the config file and report every problem with its location')
    .option('-c, --config <file>', 'config file (default: ./lifeboat.yaml, then config/lifeboat.yaml)')
    .option('--json', 'machine-readable output')
    .action((o: { config?: string; json?: boolean }) =>
      run(async (out) => {
        const cfg = await load(o.config);
        const warnings = await configWarnings(cfg);
        for (const w of warnings) out.info(`warning: ${w}`);
        const jobs = [...cfg.jobs.keys()];
        const summary = `${cfg.file}: OK — ${cfg.sites.size} site(s), ${jobs.length} job(s) (${jobs.join(', ')}), ${cfg.encryption.recipients.length} recipient(s)`;
        out.result(summary, { ok: true, file: cfg.file, sites: [...cfg.sites.keys()], jobs, warnings });
        return 0;
      }),
    );
  config
    .command('reference')
    .description('print the configuration reference (every key, its type and default) as Markdown')
    .action(() =>
      run(async () => {
        process.stdout.write(`${configReference()}\n`);
        return 0;
      }),
    );
  config
    .command('schema')
    .description('print the JSON Schema of the config file (for YAML editors)')
    .action(() =>
      run(async () => {
        process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
        return 0;
      }),
    );
}
