/**
 * The `lifeboat` command line. One file per command under commands/; this file wires them up and
 * turns outcomes into exit codes: 0 ok, 1 the operation failed, 2 bad usage or configuration.
 * Errors are printed as messages, never stack traces (set LIFEBOAT_DEBUG=1 to see one).
 */
import { Command, CommanderError } from 'commander';
import { LifeboatError, type ErrorCode } from '../errors.ts';
import { VERSION } from '../version.ts';
import { createOut, type Out } from './output.ts';
import { sweepTempDirs } from '../temp-dir.ts';

type Run = (fn: (out: Out, signal: AbortSignal) => Promise<number>) => Promise<void>;
interface CommandModule {
  register(program: Command, run: Run): void;
}

/**
 * Command modules by the command names they register, loaded on demand: a `lifeboat backup` should
 * not pay for loading the daemon, the HTTP API and the metrics (start-up time is part of every
 * backup's wall time). Help and unknown commands load them all.
 */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  daemon: () => import('./commands/daemon.ts'),
  backup: () => import('./commands/backup.ts'),
  snapshots: () => import('./commands/snapshots.ts'),
  restore: () => import('./commands/restore.ts'),
  drill: () => import('./commands/drill.ts'),
  drills: () => import('./commands/drill.ts'),
  verify: () => import('./commands/verify.ts'),
  heal: () => import('./commands/verify.ts'),
  prune: () => import('./commands/prune.ts'),
  keygen: () => import('./commands/keygen.ts'),
  config: () => import('./commands/config-check.ts'),
};

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['USAGE', 'CONFIG_INVALID']);

export function exitCodeFor(err: unknown): number {
  return err instanceof LifeboatError && USAGE_CODES.has(err.code) ? 2 : 1;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('lifeboat')
    .description('Encrypted multi-site backups with restore drills and measured RPO/RTO')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  const run = async (fn: (out: Out, signal: AbortSignal) => Promise<number>): Promise<void> => {
    const json = argv.includes('--json');
    const out = createOut(json);
    const ac = new AbortController();
    const daemon = argv[0] === 'daemon';
    const onSignal = (): void => {
      if (!daemon) out.info('interrupted: stopping and cleaning up (press Ctrl-C again to exit at once)');
      ac.abort();
      // The daemon handles a second signal itself (abort running jobs, then exit cleanly).
      if (!daemon) process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // Beside the command: what killed Lifeboat processes left in the temporary folder (temp-dir.ts).
    const swept = sweepTempDirs().catch(() => []);
    try {
      code = await fn(out, ac.signal);
    } catch (err) {
      if (process.env.LIFEBOAT_DEBUG) console.error(err);
      out.error(err instanceof LifeboatError ? err : new Error(`internal error: ${(err as Error)?.message ?? String(err)}`));
      code = exitCodeFor(err);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await swept;
    }
  };

  const only = argv[0] === undefined ? undefined : COMMANDS[argv[0]];
  // `--version` needs no command at all.
  const versionOnly = argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V');
  const modules = only ? [await only()] : versionOnly ? [] : [...new Set(await Promise.all(Object.values(COMMANDS).map((load) => load())))];
  for (const m of modules) m.register(program, run);

  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    throw err;
  }
  return code;
}
