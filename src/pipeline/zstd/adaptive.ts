/**
 * How many zstd frames to work on at once, following the other side of the stream: one to start
 * with; one more while the stream keeps waiting for zstd, one fewer after it stopped waiting for a
 * while (the compressor's source waits for a free one).
 *
 * Why: on a machine whose cores are also needed by the program at the other end of the stream —
 * a database server and its dump client on the same host — a second zstd thread does
 * not make zstd keep up better; it takes the core that program needs. On 2 cores a local pgbench
 * dump backed up 1.25× its reference's time with one compression thread and 1.48× with two;
 * random data, which keeps zstd busy, backed up 1.15× with one and 1.05× with two (bench/README.md,
 * "PostgreSQL: fixed costs"). Following the stream gets each case its better number.
 */

/** Frames between two decisions, and how many of them must have waited to add a thread. */
export const WINDOW = 8;
export const GROW_AT = 6;
/**
 * Windows in a row without a wait before a thread goes. Not one: a files source has short slow
 * stretches (many small files), and dropping to one thread at each of them cost a 1 GiB backup
 * ~0.5 s (5.6–6.6 s against 5.4–6.4 s with two fixed threads, 8 alternating runs).
 */
export const SHRINK_AFTER = 4;

export class Threads {
  private current: number;
  private seen = 0;
  private waited = 0;
  /** Windows in a row in which no frame waited. */
  private idle = 0;

  private readonly max: number;
  private readonly adaptive: boolean;

  /** `adaptive: false` keeps `max` threads throughout. */
  constructor(max: number, adaptive: boolean) {
    this.max = max;
    this.adaptive = adaptive;
    this.current = adaptive ? 1 : max;
  }

  /** Frames that may be worked on at once now. */
  get limit(): number {
    return this.current;
  }

  /** Counts one frame: whether the stream had to wait for zstd on its account. */
  note(waited: boolean): void {
    if (!this.adaptive) return;
    this.seen++;
    if (waited) this.waited++;
    if (this.seen < WINDOW) return;
    this.idle = this.waited === 0 ? this.idle + 1 : 0;
    if (this.waited >= GROW_AT && this.current < this.max) this.current++;
    else if (this.idle >= SHRINK_AFTER && this.current > 1) {
      this.current--;
      this.idle = 0;
    }
    this.seen = this.waited = 0;
  }
}
