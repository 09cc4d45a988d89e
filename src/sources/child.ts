/**
 * Child processes that produce or consume a stream (tar, pg_dump, mariadb, …). Success is the exit
 * status, never the end of stdout: a dump whose stdout ended cleanly may still have failed, and
 * the reason is on stderr, whose tail every error carries.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError, type ErrorCode } from '../errors.ts';
import { ChildOutput } from './child-output.ts';
import { isSocketInput, type Dump, type Facts, type SocketInput } from './source.ts';

const STDERR_TAIL = 4096;

export interface ChildSpec {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Exit codes that count as success (default [0]); others fail. */
  readonly okCodes?: readonly number[];
  /** What the process does, for messages: "tar (archiving /data)". */
  readonly what: string;
}

function tail(chunks: Buffer[]): string {
  const all = Buffer.concat(chunks).toString('utf8');
  return all.length > STDERR_TAIL ? `…${all.slice(-STDERR_TAIL)}` : all;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function collectExit(child: ReturnType<typeof spawn>, spec: ChildSpec, code: ErrorCode): Promise<Exit> {
  const stderr: Buffer[] = [];
  let size = 0;
  child.stderr?.on('data', (b: Buffer) => {
    stderr.push(b);
    size += b.length;
    while (size > STDERR_TAIL * 2 && stderr.length > 1) size -= stderr.shift()!.length;
  });
  return new Promise((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? `${spec.cmd} is not installed (not found on PATH)` : err.message;
      reject(new LifeboatError(code, `${spec.what}: ${why}`));
    });
    child.on('close', (c, s) => resolve({ code: c, signal: s, stderr: tail(stderr) }));
  });
}

function exitError(spec: ChildSpec, exit: Exit, code: ErrorCode): LifeboatError {
  const status = exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
  const detail = exit.stderr.trim();
  return new LifeboatError(code, `${spec.what} ${status}${detail ? `: ${detail}` : ''}`);
}

/**
 * Starts a producer: its stdout is the stream (a `ChildOutput`, which the backup pipeline reads
 * without a copy); `done` resolves with stderr once it exited well. `output` lets a deferred dump
 * hand out the stream before the child starts.
 */
export function spawnProducer(
  spec: ChildSpec,
  signal: AbortSignal,
  input?: Readable,
  output: ChildOutput = new ChildOutput(),
): { stream: ChildOutput; done: Promise<{ stderr: string; code: number }>; spawned: Promise<void> } {
  let spawned!: () => void;
  const running = new Promise<void>((resolve) => (spawned = resolve));
  const done = (async () => {
    let stdout: Socket;
    try {
      if (signal.aborted) throw new LifeboatError('ABORTED', `${spec.what} was aborted`);
      stdout = await output.open();
    } catch (err) {
      // No child will write: the stream fails with the reason instead of waiting for ever.
      output.destroy(err as Error);
      throw err;
    }
    // Its own process group, so that an abort also stops what it started (a shell's children would
    // otherwise keep the output open, and the abort would wait for them).
    const opts: SpawnOptions = { stdio: [input ? 'pipe' : 'ignore', stdout, 'pipe'], env: spec.env ?? process.env, detached: true };
    if (spec.cwd) opts.cwd = spec.cwd;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(spec.cmd, spec.args, opts);
    } finally {
      // The child holds its own copy: the output ends when the child (and what it started) closes it.
      stdout.destroy();
      spawned();
    }
    const exited = collectExit(child, spec, 'DUMP_FAILED');
    const kill = (): void => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      output.destroy();
      child.stderr?.destroy();
    };
    if (signal.aborted) kill();
    else signal.addEventListener('abort', kill, { once: true });
    void exited.then(
      () => signal.removeEventListener('abort', kill),
      () => signal.removeEventListener('abort', kill),
    );
    const fed = input && child.stdin ? pipeline(input, child.stdin).catch(() => {}) : Promise.resolve();
    const exit = await exited;
    await fed;
    if (signal.aborted) throw new LifeboatError('ABORTED', `${spec.what} was aborted`);
    if (exit.code === null || !(spec.okCodes ?? [0]).includes(exit.code)) throw exitError(spec, exit, 'DUMP_FAILED');
    return { stderr: exit.stderr, code: exit.code };
  })();
  done.catch(() => {});
  // Settles once the child runs, or once it is known that it never will.
  done.then(spawned, spawned);
  return { stream: output, done, spawned: running };
}

/**
 * Writes `input` into a child's stdin. A consumer may exit before the end of its input (tar stops
 * at its end-of-archive blocks); the rest is then read and discarded, because the pipeline's
 * integrity checks run when the input ends, and a restore must not commit before they passed.
 * Rejects only when the input itself fails.
 */
async function feed(input: Readable, stdin: Writable): Promise<void> {
  let open = true;
  const closed = new Promise<void>((resolve) => {
    const shut = (): void => {
      open = false;
      resolve();
    };
    stdin.once('close', shut);
    // `on`, not `once`: a consumer that exits early can make several writes fail.
    stdin.on('error', shut);
  });
  for await (const chunk of input) {
    if (open && !stdin.write(chunk)) await Promise.race([once(stdin, 'drain').catch(() => {}), closed]);
  }
  if (open) stdin.end();
}

/**
 * Runs a consumer: pipes `input` into its stdin; resolves once the input ended well and it exited 0.
 * A restore's plaintext (`SocketInput`) becomes the child's stdin itself, without passing through
 * this thread.
 */
export async function runConsumer(spec: ChildSpec, input: Readable, signal: AbortSignal): Promise<{ stderr: string }> {
  if (isSocketInput(input)) return runOnSocket(spec, input, signal);
  const opts: SpawnOptions = { stdio: ['pipe', 'ignore', 'pipe'], env: spec.env ?? process.env, signal, killSignal: 'SIGKILL' };
  if (spec.cwd) opts.cwd = spec.cwd;
  const child = spawn(spec.cmd, spec.args, opts);
  const exited = collectExit(child, spec, 'RESTORE_FAILED');
  let inputError: unknown;
  try {
    await feed(input, child.stdin!);
  } catch (err) {
    inputError = err;
    child.kill('SIGKILL');
  }
  const exit = await exited;
  // An integrity or decryption failure upstream is the real cause, whatever the child did.
  if (inputError instanceof LifeboatError) throw inputError;
  if (signal.aborted) throw new LifeboatError('ABORTED', `${spec.what} was aborted`);
  if (exit.code !== 0) throw exitError(spec, exit, 'RESTORE_FAILED');
  if (inputError !== undefined) throw inputError;
  return { stderr: exit.stderr };
}

/**
 * A dump whose child can only start after some asynchronous preparation (a version check, an
 * option file): `produce` starts it with `spawnProducer(…, out)`, calls `started` once it runs,
 * and resolves with the facts. The stream exists at once; a failure before the child started
 * fails it, so the pipeline never mistakes a short stream for a whole one.
 */
export function deferredDump(produce: (out: ChildOutput, started: () => void) => Promise<Facts>): Dump {
  const out = new ChildOutput();
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const done = produce(out, started);
  done.then(started, started);
  done.catch((err: unknown) => {
    if (!out.readableEnded) out.destroy(err as Error);
  });
  return { stream: out, done, started: running };
}

/** Like deferredDump, for a stream produced in this process (a file copy): `produce` writes into `out`. */
export function deferredStream(produce: (out: PassThrough) => Promise<Facts>): Dump {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const done = produce(out);
  done.catch((err: unknown) => out.destroy(err as Error));
  return { stream: out, done };
}

/**
 * The consumer reads the worker's plaintext socket directly. When the worker fails (a damaged or
 * forged payload, a site that failed mid-read), the consumer is killed first and only then is the
 * worker stopped, which closes the socket: the consumer never reads the end of a failed stream.
 */
async function runOnSocket(spec: ChildSpec, plain: SocketInput, signal: AbortSignal): Promise<{ stderr: string }> {
  // Its own process group, so that a kill also reaches what it started (`sh -c 'cat > file'`):
  // a surviving grandchild would read the socket's end once the worker stops.
  const opts: SpawnOptions = { env: spec.env ?? process.env, detached: true };
  if (spec.cwd) opts.cwd = spec.cwd;
  const stdin = await plain.takeSocket();
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(spec.cmd, spec.args, { ...opts, stdio: [stdin, 'ignore', 'pipe'] });
  } finally {
    // The child holds its own copy of the socket.
    stdin.destroy();
  }
  const exited = collectExit(child, spec, 'RESTORE_FAILED').catch((err: unknown) => err as LifeboatError);
  const kill = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  signal.addEventListener('abort', kill, { once: true });
  let upstream: unknown;
  await plain.verdict.catch((err: unknown) => {
    upstream = err;
    kill();
  });
  const exit = await exited;
  signal.removeEventListener('abort', kill);
  if (upstream !== undefined) {
    await plain.stop();
    throw upstream;
  }
  if (exit instanceof LifeboatError) throw exit;
  if (signal.aborted) throw new LifeboatError('ABORTED', `${spec.what} was aborted`);
  if (exit.code !== 0) throw exitError(spec, exit, 'RESTORE_FAILED');
  return { stderr: exit.stderr };
}
