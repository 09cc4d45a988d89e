/**
 * The restore data path, run in a worker thread:
 *
 *     ciphertext (from the main thread) ─▶ measure(cipher) ─▶ age⁻¹ ─▶ zstd⁻¹ ─▶ measure(plain size, hold back) ─▶ [vet] ─▶ plaintext socket
 *
 * Why a thread: a restore is CPU-bound on two cores, and much of that CPU is V8 garbage collection
 * of the chunk buffers, whose cost grows with the size of the heap the collector walks. The main
 * thread's heap holds the config machinery, the catalog and the API; this thread's holds only these
 * stages (half the size), so each of the ~100 collections per GiB is cheaper (bench/README.md).
 * For that to pay, the plaintext must not pass through the main thread: it goes into a Unix socket
 * that the main thread hands to the consumer (tar, pg_restore, the mysql client) as its stdin.
 *
 * The main thread reads the stored object and computes its SHA-256, which would otherwise lengthen
 * this thread's work; the buffers are transferred here (cipher-feed.ts).
 * This module imports only the stages, never the config or site code.
 */
import { connect, type Socket } from 'node:net';
import { Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parentPort } from 'node:worker_threads';
import { createDecryptStream } from '../../crypto/age.ts';
import type { Identity } from '../../crypto/keys.ts';
import { releaseHandedOver } from '../../memory.ts';
import { Measure } from '../measure.ts';
import { ParallelZstdDecompress } from '../zstd/decompress.ts';
import { serializeError, type FromWorker, type IdentityData, type ToWorker, type WorkerJob } from './protocol.ts';
import { CipherInput } from './cipher-feed.ts';

const PROGRESS_EVERY_MS = 100;

/**
 * Writes into the plaintext socket while the consumer reads it. A consumer may stop reading before
 * the end (tar stops at its end-of-archive blocks, a failing client exits): the rest is then
 * discarded, because the checks run as the last bytes pass and the verdict depends on them.
 */
class SocketSink extends Writable {
  private readonly socket: Socket;
  private open = true;
  private wake?: () => void;

  constructor(socket: Socket) {
    super({ highWaterMark: 1 << 20 });
    this.socket = socket;
    const shut = (): void => {
      this.open = false;
      this.wake?.();
    };
    socket.on('close', shut);
    socket.on('error', shut);
    socket.on('drain', () => this.wake?.());
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.open) return cb();
    // The stages before keep no view of a handed-over frame (decompress.ts, measure.ts, vet.ts):
    // once the socket has it, its memory is freed at once. Restores were otherwise ~20 MiB
    // larger at their peak: frames waiting for the next collection.
    if (this.socket.write(chunk, () => releaseHandedOver(chunk))) return cb();
    this.wake = () => {
      this.wake = undefined;
      cb();
    };
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.open) return cb();
    this.wake = () => {
      this.wake = undefined;
      cb();
    };
    this.socket.end(() => this.wake?.());
  }
}

function connected(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => resolve(socket));
    socket.once('error', reject);
  });
}

function identitiesOf(data: readonly IdentityData[]): Identity[] {
  return data.map((d) => ({ privateKey: d.privateKey, recipient: { ...d.recipient, raw: Buffer.from(d.recipient.raw) } }));
}

async function run(job: WorkerJob, input: CipherInput, post: (m: FromWorker) => void): Promise<void> {
  const out = await connected(job.out);
  let last = 0;
  const cipher = new Measure({
    digest: input,
    expect: job.cipher,
    onBytes: (bytes) => {
      const now = Date.now();
      if (now - last < PROGRESS_EVERY_MS && bytes < job.cipher.bytes) return;
      last = now;
      post({ type: 'progress', bytes });
    },
  });
  const stages: Transform[] = [cipher, createDecryptStream(identitiesOf(job.identities), { consumeInput: true }), new ParallelZstdDecompress(), new Measure({ expect: job.plain, holdBack: true, hash: false })];
  if (job.vet) {
    // Loaded only when asked for: the tar parser is the one large module here.
    const { vetTarStream } = await import('../../sources/files/vet.ts');
    stages.push(vetTarStream(job.vet.what));
  }
  await pipeline([input, ...stages, new SocketSink(out)]);
}

const port = parentPort;
if (!port) throw new Error('the restore worker runs only as a worker thread');
const post = (m: FromWorker): void => port.postMessage(m);
let input: CipherInput | undefined;
port.on('message', (m: WorkerJob | ToWorker) => {
  if ('type' in m) return input?.receive(m);
  // Made at once: the ciphertext's first pieces follow the job.
  input = new CipherInput(() => post({ type: 'took' }));
  run(m, input, post).then(
    () => {
      post({ type: 'done' });
      port.close();
    },
    // Nothing is closed here: the thread that started this one kills the consumer first, then
    // terminates this thread, which closes the plaintext socket.
    (err: unknown) => post({ type: 'error', error: serializeError(err) }),
  );
});
