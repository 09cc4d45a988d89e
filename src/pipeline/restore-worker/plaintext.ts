/**
 * The main thread's side of a restore's data path (see worker.ts): starts the worker on one stored
 * object and hands out its verified plaintext, either as a socket for a consumer's stdin (the
 * bytes never enter this thread) or as an ordinary Readable for consumers in this process.
 *
 * Contract, as for any restore input: the plaintext ends cleanly only when every byte decrypted,
 * the size and SHA-256 matched the manifest and the vetting passed; otherwise `verdict` rejects
 * with the reason while the socket stays open, and the consumer must be stopped before `stop()`
 * lets the socket close — a consumer never sees a failed stream end as if it were whole.
 */
import { rm, type FileHandle } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { Identity } from '../../crypto/keys.ts';
import { LifeboatError } from '../../errors.ts';
import type { Site } from '../../sites/site.ts';
import type { SocketInput } from '../../sources/source.ts';
import { CipherFeeder } from './cipher-feed.ts';
import { reviveError, type Expectation, type FromWorker, type Vetting, type WorkerJob } from './protocol.ts';
import { tempDir } from '../../temp-dir.ts';
import { writeFailure } from '../../sources/partial.ts';

export interface PlaintextInput {
  /** A worker started ahead (WorkerStart); a new one otherwise. */
  readonly worker?: WorkerStart;
  readonly site: Site;
  readonly key: string;
  readonly identities: readonly Identity[];
  readonly cipher: Expectation;
  readonly plain: Expectation;
  readonly vet?: Vetting;
  readonly signal: AbortSignal;
  readonly onProgress?: (cipherBytes: number) => void;
}

/**
 * From the sources, the worker's modules are TypeScript like the rest: Node strips their types,
 * from the compile cache when bin/lifeboat set NODE_COMPILE_CACHE (otherwise the thread loads
 * Node's TypeScript stripper for itself, ~20 MiB more). In the bundle (bin/bundle), every file
 * sits beside the worker's own entry, restore-worker.js.
 */
const WORKER = import.meta.url.endsWith('.ts') ? new URL('./worker.ts', import.meta.url) : new URL('./restore-worker.js', import.meta.url);

/**
 * A restore worker started before its job is known, so that the thread's start-up (a V8 isolate
 * and the stages' modules, ~0.1 s on two cores) overlaps the target's preparation and the catalog
 * read instead of delaying the consumer's start. Unused, it is terminated by `dispose()`; until
 * taken it does not keep the process alive.
 */
export class WorkerStart {
  private worker?: Worker;
  private exited = false;

  constructor() {
    const worker = takeEarlyWorker() ?? new Worker(WORKER);
    worker.unref();
    // A thread that failed to start is not handed out: the restore starts a fresh one, whose
    // failure it then hears of.
    worker.once('error', () => {});
    worker.once('exit', () => (this.exited = true));
    this.worker = worker;
  }

  /** The started worker, once; undefined when it is gone or was taken. */
  take(): Worker | undefined {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker || this.exited) return undefined;
    worker.ref();
    return worker;
  }

  async dispose(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}

/**
 * The worker that bin/lifeboat started before the CLI loaded (bin/early-worker.js says why), once;
 * undefined when there is none or it has already exited.
 */
function takeEarlyWorker(): Worker | undefined {
  const slot = globalThis as unknown as Record<symbol, Worker | undefined>;
  const key = Symbol.for('lifeboat.restoreWorker');
  const worker = slot[key];
  slot[key] = undefined;
  return worker && worker.threadId !== -1 ? worker : undefined;
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
}

export class Plaintext extends Readable implements SocketInput {
  /** Settles when the worker has verified and written every byte, or failed. */
  readonly verdict: Promise<void>;
  private readonly worker: Worker;
  private socket?: Socket;
  /** Settles once the worker connected the plaintext socket, or failed first. */
  private connection!: Promise<Socket>;
  private handedOut = false;
  private stopped = false;
  private settle!: { resolve: () => void; reject: (err: Error) => void };
  /** 'ok' once the worker verified everything; the first error otherwise. */
  private outcome?: 'ok' | Error;
  /** A site read that failed in this thread: the cause of whatever the worker then saw. */
  private readError?: Error;
  /** Reads the stored object and hands it to the worker. */
  private readonly feeder: CipherFeeder;
  /** The download being fed, for a site without local files. */
  private readonly body: Readable | undefined;

  private constructor(worker: Worker, body: Readable | undefined) {
    super({ highWaterMark: 1 << 20 });
    this.worker = worker;
    this.body = body;
    this.feeder = new CipherFeeder((m, transfer) => this.worker.postMessage(m, transfer ?? []));
    this.verdict = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.verdict.catch(() => {});
    // A failure is also the verdict's, which every consumer awaits: a stream failed before anyone
    // read it must not become an uncaught exception.
    this.on('error', () => {});
  }

  /**
   * Starts the worker on `input.key` of `input.site`. Resolves as soon as the worker is starting:
   * the plaintext socket connects meanwhile (`takeSocket` waits for it), so that the thread's
   * start-up overlaps the consumer's own preparation (a database created, a version checked).
   */
  static async start(input: PlaintextInput): Promise<Plaintext> {
    if (input.signal.aborted) throw new LifeboatError('ABORTED', 'the restore was aborted');
    // A site that keeps objects as local files hands over the open file; any other object is
    // downloaded. Either way this thread reads it, hashes it and feeds the worker (cipher-feed.ts).
    const file: FileHandle | undefined = await input.site.open?.(input.key);
    const body = file ? undefined : await input.site.get(input.key, { signal: input.signal });
    let plaintext: Plaintext | undefined;
    // Listened to at once: a download may fail while the worker is still starting.
    let readError: Error | undefined;
    body?.on('error', (err) => {
      readError ??= err;
      if (plaintext) plaintext.readError ??= err;
    });
    let dir: string | undefined;
    let feeding = false;
    const outServer = createServer({ pauseOnConnect: true });
    const cleanUp = async (): Promise<void> => {
      outServer.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    };
    try {
      // This host's temporary folder, not the site: its failure is no reason to try another site.
      try {
        dir = await tempDir('restore');
        await listen(outServer, join(dir, 'out'));
      } catch (err) {
        throw writeFailure(`the restore's socket in ${tmpdir()}`, err);
      }
      const job: WorkerJob = {
        identities: input.identities.map((i) => ({ privateKey: i.privateKey, recipient: { text: i.recipient.text, publicKey: i.recipient.publicKey, raw: i.recipient.raw } })),
        cipher: input.cipher,
        plain: input.plain,
        out: join(dir, 'out'),
        ...(input.vet ? { vet: input.vet } : {}),
      };
      const p = new Plaintext(input.worker?.take() ?? new Worker(WORKER), body);
      plaintext = p;
      if (readError) p.readError = readError;
      p.watch(input);
      const out = new Promise<Socket>((resolve) => outServer.once('connection', resolve));
      p.worker.postMessage(job);
      feeding = true;
      p.feeder.feed(file ?? body!).catch((err: Error) => void (p.readError ??= err));
      p.connection = p.connect(out).finally(cleanUp);
      p.connection.catch(() => {});
      return p;
    } catch (err) {
      body?.destroy();
      if (plaintext) await plaintext.stop();
      if (!feeding) await file?.close();
      await cleanUp();
      throw err;
    }
  }

  /** Waits for the worker's end of the plaintext socket. */
  private async connect(out: Promise<Socket>): Promise<Socket> {
    // A failing worker ends the wait with its error. One that succeeded did connect first: it says
    // "done" only after writing everything into the socket, and for a small snapshot that message
    // can reach this thread before the server's 'connection' event does (seen with a drill of a
    // few kilobytes while this thread was busy writing the snapshot's hold). Its connection is
    // then still on its way.
    const ended = this.verdict.then(() => out);
    ended.catch(() => {});
    try {
      const socket = await Promise.race([out, ended]);
      if (this.stopped) socket.destroy();
      else this.socket = socket;
      return socket;
    } catch (err) {
      throw this.outcome instanceof Error ? this.outcome : err;
    }
  }

  private watch(input: PlaintextInput): void {
    const fail = (err: Error): void => {
      if (this.outcome !== undefined) return;
      this.endFeed();
      this.outcome = this.readError ?? err;
      this.settle.reject(this.outcome);
      if (!this.handedOut) this.destroy(this.outcome);
    };
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'took') this.feeder.credit();
      else if (m.type === 'progress') input.onProgress?.(m.bytes);
      else if (m.type === 'error') fail(reviveError(m.error));
      else if (this.outcome === undefined) {
        this.outcome = 'ok';
        this.settle.resolve();
      }
    });
    this.worker.on('error', (err) => fail(new Error(`the restore worker failed: ${err.message}`)));
    this.worker.on('exit', () => fail(new Error('the restore worker stopped before the end of the stream')));
    const abort = (): void => {
      fail(new LifeboatError('ABORTED', 'the restore was aborted'));
      void this.worker.terminate();
    };
    input.signal.addEventListener('abort', abort, { once: true });
    const unwatch = (): void => input.signal.removeEventListener('abort', abort);
    this.verdict.then(unwatch, unwatch);
  }

  /** Stops reading the stored object: the restore failed or is being stopped. */
  private endFeed(): void {
    this.feeder.stop();
    this.body?.destroy();
  }

  /**
   * The plaintext socket, for a child's stdin, once the worker connected it: the child gets its
   * own copy at spawn; destroy this one right after. The Readable side is unusable afterwards.
   */
  async takeSocket(): Promise<Socket> {
    if (this.handedOut) throw new Error('the plaintext was already handed out');
    this.handedOut = true;
    const socket = await this.connection;
    if (this.outcome instanceof Error) throw this.outcome;
    return socket;
  }

  override _read(): void {
    if (this.handedOut || this.stopped) return;
    if (!this.socket) {
      this.connection.then(
        () => this._read(),
        (err: Error) => this.destroy(err),
      );
      return;
    }
    const socket = this.socket;
    if (socket.listenerCount('data') === 0) {
      socket.on('data', (chunk: Buffer) => {
        if (!this.push(chunk)) socket.pause();
      });
      // The socket's end alone proves nothing: the stream is whole only once the worker says so.
      socket.on('end', () => {
        this.verdict.then(
          () => this.push(null),
          () => {},
        );
      });
      socket.on('error', (err) => {
        if (this.outcome === undefined) this.destroy(err);
      });
    }
    socket.resume();
  }

  /**
   * Stops the worker, which closes its end of the socket: call it only after the consumer stopped.
   * Returns the worker's own error when it had failed before.
   */
  async stop(): Promise<Error | undefined> {
    this.stopped = true;
    const outcome = this.outcome;
    this.endFeed();
    this.socket?.destroy();
    await this.worker.terminate();
    return outcome instanceof Error ? outcome : undefined;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.handedOut) this.socket?.destroy();
    cb(err);
  }
}
