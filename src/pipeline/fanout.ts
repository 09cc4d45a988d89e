/**
 * Fan-out: one stream written to several consumers at once, read from the source only once.
 * Each consumer (a site's upload) reads its own branch; a chunk is acknowledged upstream only when
 * every live branch accepted it, so the slowest site sets the pace (backpressure) and memory stays
 * bounded. A branch whose consumer failed is cut off without disturbing the others; when fewer
 * than `minLive` branches remain, the whole fan-out fails.
 */
import { PassThrough, Writable } from 'node:stream';
import { LifeboatError, describeError } from '../errors.ts';

interface Branch {
  readonly name: string;
  readonly stream: PassThrough;
  alive: boolean;
  error?: unknown;
  wake?: () => void;
}

export class FanOut extends Writable {
  private readonly branches: Branch[];
  private readonly minLive: number;

  constructor(names: readonly string[], minLive: number, highWaterMark = 1 << 20) {
    super({ highWaterMark: 1 });
    this.minLive = minLive;
    this.branches = names.map((name) => {
      const stream = new PassThrough({ highWaterMark });
      // A branch's consumer reports its own failure; a branch torn down after its consumer has
      // gone must not raise an 'error' event that nobody listens to.
      stream.on('error', () => {});
      return { name, stream, alive: true };
    });
  }

  branch(name: string): PassThrough {
    const b = this.branches.find((x) => x.name === name);
    if (!b) throw new Error(`no branch ${name}`);
    return b.stream;
  }

  /** Cuts off a branch whose consumer failed. */
  fail(name: string, err: unknown): void {
    const b = this.branches.find((x) => x.name === name);
    if (!b || !b.alive) return;
    b.alive = false;
    b.error = err;
    b.stream.destroy();
    b.wake?.();
    const live = this.branches.filter((x) => x.alive).length;
    // Once every byte was handed on (finished), the uploads' own results decide; destroying the
    // stream then would only raise an error that nobody listens to any more.
    if (live < this.minLive && !this.destroyed && !this.writableFinished) {
      const reasons = this.branches.filter((x) => !x.alive).map((x) => describeError(x.error));
      this.destroy(new LifeboatError('BACKUP_FAILED', `too few sites left (${live} of at least ${this.minLive} needed): ${reasons.join('; ')}`));
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const waits: Promise<void>[] = [];
    for (const b of this.branches) {
      if (!b.alive) continue;
      if (!b.stream.write(chunk)) {
        waits.push(
          new Promise<void>((resolve) => {
            const done = (): void => {
              b.stream.off('drain', done);
              b.wake = undefined;
              resolve();
            };
            b.wake = done;
            b.stream.on('drain', done);
          }),
        );
      }
    }
    if (waits.length === 0) cb();
    else void Promise.all(waits).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    for (const b of this.branches) if (b.alive) b.stream.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // A Writable destroys itself after 'finish' (autoDestroy): then the branches have ended and
    // may still hold data their consumers have not read; only a failure tears them down.
    if (err || !this.writableFinished) {
      for (const b of this.branches) if (b.alive) b.stream.destroy(err ?? new Error('the backup stream was interrupted'));
    }
    cb(err);
  }
}
