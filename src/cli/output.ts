/** Human output for the CLI: sizes, rates, a progress line on a TTY, and JSON for scripts. */
import { formatBytes } from '../bytes.ts';
import { describeError, isLifeboatError } from '../errors.ts';

export { formatBytes };

export interface Out {
  readonly json: boolean;
  info(line: string): void;
  result(human: string, data: unknown): void;
  /** A progress line on a TTY, at most five times a second; `line` is only called when shown. */
  progress(line: () => string): void;
  endProgress(): void;
  error(err: unknown): void;
}

export function createOut(json: boolean, stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Out {
  const tty = stderr.isTTY === true && !json;
  let last = 0;
  let shown = false;
  return {
    json,
    info(line) {
      if (tty && shown) this.endProgress();
      stderr.write(`${line}\n`);
    },
    result(human, data) {
      if (tty && shown) this.endProgress();
      stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`);
    },
    progress(line) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      stderr.write(`\r\x1b[2K${line()}`);
    },
    endProgress() {
      if (tty && shown) stderr.write('\r\x1b[2K');
      shown = false;
    },
    error(err) {
      this.endProgress();
      const message = describeError(err);
      stderr.write(`lifeboat: ${message.replace(/\n/g, '\nlifeboat: ')}\n`);
      if (json) {
        const code = isLifeboatError(err) ? err.code : 'INTERNAL';
        stdout.write(`${JSON.stringify({ ok: false, error: { code, message } }, null, 2)}\n`);
      }
    },
  };
}

/** A rate meter for progress lines. */
export function rate(bytes: number, startedMs: number): string {
  const s = (Date.now() - startedMs) / 1000;
  return s > 0 ? `${formatBytes(bytes / s)}/s` : '';
}
