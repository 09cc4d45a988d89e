/**
 * A dump child's stdout, read without allocating per read.
 *
 * Node reads a pipe into a fresh 64 KiB buffer each time: a 1 GiB dump makes 16,000 buffers of
 * garbage, and the V8 work to collect them (plus the resident memory they hold until then) was a
 * large share of a backup's cost. A `net.Socket` can instead read into buffers its owner provides
 * (`onread`), but only a socket, not a child's stdio pipe. So the child's stdout is one end of a
 * Unix socket in a private (0700) temporary folder, and this side reads it:
 *
 * - `readInto(sink)`: reads land straight in buffers the sink hands out (the zstd stage's frame
 *   buffers: no copy at all), with backpressure through the sink's return value.
 * - As a plain Readable, for any other consumer: each read is copied out of one reused buffer.
 *
 * The socket is created paused; whichever way is used first starts it. Writes to a socket behave
 * like writes to a pipe for the child (EOF when it exits, EPIPE when we go away).
 */
import { rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tempDir } from '../temp-dir.ts';

/** Where direct reads go. */
export interface DirectSink {
  /** The buffer the next read fills (a part of it: its length is the most a read may bring). */
  next(): Buffer;
  /** `n` bytes landed in the buffer `next()` gave; returns false to pause reading. */
  got(n: number): boolean;
  end(): void;
  error(err: Error): void;
}

const SCRATCH = 1 << 20;

export class ChildOutput extends Readable {
  private socket?: Socket;
  private sink?: DirectSink;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH);
  private started = false;
  /** The copy of the output's first bytes that head() asked for, while it is being gathered. */
  private headWant?: { bytes: number; parts: Buffer[]; got: number; done: (b: Buffer) => void };

  constructor() {
    super({ highWaterMark: SCRATCH });
    // A failure is also reported through the dump's `done`, which every consumer awaits: a stream
    // failed after its consumer finished must not become an uncaught exception.
    this.on('error', () => {});
  }

  /**
   * Makes the socket pair; returns the end to give the child as stdout (close it here once the
   * child has it). Everything on disk is removed before this returns.
   */
  async open(): Promise<Socket> {
    const dir = await tempDir('out');
    const server = createServer();
    try {
      const path = join(dir, 's');
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, resolve);
      });
      const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
      const socket = connect({
        path,
        onread: {
          buffer: () => this.sink?.next() ?? this.scratch,
          callback: (n: number, buf: Uint8Array) => this.received(n, buf),
        },
      });
      socket.pause();
      socket.on('end', () => {
        this.headEnd();
        if (this.sink) this.sink.end();
        else this.push(null);
      });
      socket.on('error', (err) => {
        this.headEnd();
        if (this.sink) this.sink.error(err);
        else this.destroy(err);
      });
      this.socket = socket;
      const theirs = await accepted;
      if (this.started) socket.resume();
      return theirs;
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Reads straight into `sink`'s buffers. Call it before any other read (later, it throws). The
   * socket takes the buffer of its next read ahead, the first one when it is made: when the child
   * was started before this call (a dump started early), its first read lands in this class's
   * scratch buffer and is copied into the sink's (see received()); every later read goes straight in.
   */
  readInto(sink: DirectSink): { resume(): void } {
    if (this.started) throw new Error('ChildOutput.readInto() must come before any other read');
    this.sink = sink;
    this.start();
    return { resume: () => this.socket?.resume() };
  }

  /**
   * A copy of the output's first `bytes` bytes (fewer when it ends or fails sooner), taken as they
   * pass to whichever reader: a look at a dump's header that costs no second read. Ask before the
   * output starts.
   */
  head(bytes: number): Promise<Buffer> {
    if (this.headWant || this.started) throw new Error('ChildOutput.head() must come before any read, and once');
    return new Promise((done) => {
      this.headWant = { bytes, parts: [], got: 0, done };
    });
  }

  private headTap(buf: Uint8Array, n: number): void {
    const h = this.headWant!;
    const take = Math.min(n, h.bytes - h.got);
    h.parts.push(Buffer.from(buf.subarray(0, take)));
    h.got += take;
    if (h.got >= h.bytes) this.headEnd();
  }

  private headEnd(): void {
    const h = this.headWant;
    if (!h) return;
    this.headWant = undefined;
    h.done(Buffer.concat(h.parts));
  }

  override _read(): void {
    this.start();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.headEnd();
    this.socket?.destroy();
    // A direct reader hears of the failure too (it does not listen to this stream's events).
    if (err && this.sink) this.sink.error(err);
    cb(err);
  }

  private start(): void {
    this.started = true;
    this.socket?.resume();
  }

  private received(n: number, buf: Uint8Array): boolean {
    if (this.headWant) this.headTap(buf, n);
    if (this.sink) return buf === this.scratch ? this.handOver(n) : this.sink.got(n);
    // A plain Readable: copy out of the shared buffer.
    return this.push(Buffer.from(buf.subarray(0, n)));
  }

  /** A read that landed in the scratch buffer before the sink came (at most the first one): copied in. */
  private handOver(n: number): boolean {
    const sink = this.sink!;
    let more = true;
    for (let off = 0; off < n; ) {
      const into = sink.next();
      const k = Math.min(into.length, n - off);
      this.scratch.copy(into, 0, off, off + k);
      more = sink.got(k);
      off += k;
    }
    return more;
  }
}
