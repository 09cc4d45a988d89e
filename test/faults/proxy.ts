/**
 * A TCP fault proxy for tests: sits between Lifeboat and an S3 gateway on 127.0.0.1 and, as told,
 * passes traffic, delays it, caps its bandwidth, resets every connection once a number of bytes
 * went upstream, or swallows it (blackhole: accepts, never answers).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Transform } from 'node:stream';

export type FaultMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'slow'; readonly latencyMs: number; readonly bytesPerSecond: number }
  | { readonly kind: 'reset'; readonly afterBytes: number }
  | { readonly kind: 'blackhole' };

export class FaultProxy {
  mode: FaultMode = { kind: 'pass' };
  /** Bytes sent upstream since the mode was last set (for `reset`). */
  private upstreamBytes = 0;
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  port = 0;
  private readonly target: { host: string; port: number };

  constructor(targetUrl: string) {
    const u = new URL(targetUrl);
    this.target = { host: u.hostname, port: Number(u.port) };
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  set(mode: FaultMode): void {
    this.mode = mode;
    this.upstreamBytes = 0;
    // Open connections follow the new mode chunk by chunk, except into a blackhole: drop them, so
    // that the next request meets it.
    if (mode.kind === 'blackhole') for (const s of this.sockets) s.destroy();
  }

  /** Delays the first bytes of a connection by the latency, then paces it to the bandwidth cap. */
  private throttle(): Transform {
    let first = true;
    return new Transform({
      transform: (chunk: Buffer, _e, cb) => {
        const m = this.mode;
        if (m.kind !== 'slow') return cb(null, chunk);
        const delay = (first ? m.latencyMs : 0) + (chunk.length / m.bytesPerSecond) * 1000;
        first = false;
        setTimeout(() => cb(null, chunk), delay);
      },
    });
  }

  async start(): Promise<this> {
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => {});
      if (this.mode.kind === 'blackhole') return client.resume();
      const upstream = connect(this.target.port, this.target.host);
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      // Ends travel through the pipes below (after delayed data); errors cut both sides at once.
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      const counter = new Transform({
        transform: (chunk: Buffer, _e, cb) => {
          this.upstreamBytes += chunk.length;
          const m = this.mode;
          if (m.kind === 'reset' && this.upstreamBytes > m.afterBytes) {
            client.resetAndDestroy();
            upstream.resetAndDestroy();
            return cb();
          }
          cb(null, chunk);
        },
      });
      client.pipe(counter).pipe(this.throttle()).pipe(upstream);
      upstream.pipe(this.throttle()).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}
