/**
 * `lifeboat daemon`: run every job on its schedule, serve /metrics, /healthz and /readyz, and
 * log JSON lines (pino) to stdout. SIGTERM or SIGINT: stop scheduling, let running jobs finish
 * within daemon.shutdownGrace, then abort them cleanly and exit 0; a second signal aborts at once.
 */
import type { Command } from 'commander';
import { once } from 'node:events';
import pino from 'pino';
import { createApiServer, parseListen } from '../../api/server.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { LifeboatError } from '../../errors.ts';
import { Metrics } from '../../metrics/metrics.ts';
import { Context } from '../../operations/context.ts';
import { configWarnings } from '../../config/warnings.ts';
import { load } from '../config-path.ts';
import type { Out } from '../output.ts';

export function register(program: Command, run: (fn: (out: Out, signal: AbortSignal) => Promise<number>) => Promise<void>): void {
  program
    .command('daemon')
    .description('run the jobs on their schedules and serve metrics and health endpoints')
    .option('-c, --config <file>', 'config file')
    .action((o: { config?: string }) =>
      run(async (_out, signal) => {
        const config = await load(o.config);
        const log = pino({
          name: 'lifeboat',
          level: process.env.LIFEBOAT_LOG_LEVEL ?? 'info',
          // Secrets never reach a log line; this is the backstop should one be passed by mistake.
          redact: { paths: ['*.password', '*.secretAccessKey', '*.sessionToken', '*.token', '*.authorization'], censor: '[redacted]' },
        });
        const ctx = new Context(config);
        const metrics = new Metrics();
        const daemon = new Daemon(ctx, metrics, log, config.daemon);
        const server = createApiServer({
          metrics,
          ready: () => daemon.ready,
          tokens: config.api.tokens,
          openMetrics: config.api.openMetrics,
          v1: { ctx, daemon },
        });
        const { host, port } = parseListen(config.api.listen);
        server.listen(port, host);
        try {
          await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
        } catch (err) {
          throw new LifeboatError('USAGE', `cannot listen on ${config.api.listen} (api.listen): ${(err as Error).message}`);
        }
        log.info({ listen: config.api.listen, config: config.file }, 'listening');
        for (const warning of await configWarnings(config)) log.warn({ config: config.file }, warning);
        await daemon.start();
        if (!signal.aborted) await once(signal, 'abort');
        log.info('shutting down: no new runs');
        const hurry = (): void => {
          log.warn('second signal: aborting running jobs now');
          daemon.abortAll();
        };
        process.on('SIGTERM', hurry);
        process.on('SIGINT', hurry);
        await daemon.stop();
        server.close();
        ctx.close();
        log.info('stopped');
        return 0;
      }),
    );
}
