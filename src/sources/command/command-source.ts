/**
 * The command source: anything a command can dump. `dump` is an argv whose stdout is the payload;
 * `restore` is an argv that reads the payload on stdin (the target is passed to it in the
 * environment as LIFEBOAT_RESTORE_TARGET). No shell is involved: arguments are passed as given.
 * Exit status decides success, and the tail of stderr explains a failure.
 */
import type { Readable } from 'node:stream';
import type { CommandSourceConfig } from '../../config/model.ts';
import { LifeboatError } from '../../errors.ts';
import { runConsumer, spawnProducer } from '../child.ts';
import type { Dump, Facts, RestoreOptions, Source } from '../source.ts';
import { redactTarget } from '../url-target.ts';

export class CommandSource implements Source {
  readonly kind = 'command';
  readonly ext = 'bin' as const;
  readonly targetKind = 'whatever the restore command expects (passed as LIFEBOAT_RESTORE_TARGET)';
  private readonly cfg: CommandSourceConfig;

  constructor(cfg: CommandSourceConfig) {
    this.cfg = cfg;
  }

  private env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, ...this.cfg.env, ...extra };
  }

  dump(o: { signal: AbortSignal }): Dump {
    const [cmd, ...args] = this.cfg.dump;
    const child = spawnProducer({ cmd: cmd!, args, env: this.env(), ...(this.cfg.cwd ? { cwd: this.cfg.cwd } : {}), what: `dump command ${cmd}` }, o.signal);
    return { stream: child.stream, done: child.done.then(() => ({ command: cmd! })) };
  }

  async overlapsSource(): Promise<undefined> {
    return undefined;
  }

  async checkTarget(): Promise<string[]> {
    if (!this.cfg.restore) throw new LifeboatError('USAGE', 'this job has no restore command (source.restore): restore the payload by hand, or add one');
    return [`the restore command ${this.cfg.restore[0]} will read the payload on stdin`];
  }

  async restore(input: Readable, target: string, o: RestoreOptions): Promise<Facts> {
    await this.checkTarget();
    const [cmd, ...args] = this.cfg.restore!;
    await runConsumer(
      { cmd: cmd!, args, env: this.env({ LIFEBOAT_RESTORE_TARGET: target }), ...(this.cfg.cwd ? { cwd: this.cfg.cwd } : {}), what: `restore command ${cmd}` },
      input,
      o.signal,
    );
    return { command: cmd!, target: redactTarget(target) };
  }
}
