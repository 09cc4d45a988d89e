/**
 * The on-call API under /api/v1:
 *
 *     GET  /jobs                       every job: schedule, next run, objectives, recovery point, status (viewer)
 *     GET  /jobs/{job}/snapshots       committed snapshots across the job's sites (viewer)
 *     POST /jobs/{job}/backups         start a backup now → 202 with an operation (operator)
 *     POST /jobs/{job}/restores        {snapshot?, target, site?, clean?, force?, noOwner?, jobs?} → 202 (operator)
 *     POST /jobs/{job}/drills          {snapshot?, site?} → 202 with an operation (operator)
 *     GET  /jobs/{job}/drills          drill reports, newest first (viewer)
 *     GET  /operations?job=&limit=     recent operations, newest first (viewer)
 *     GET  /operations/{id}            state, progress and result of an operation (viewer)
 *     GET  /whoami                     the caller's token name and role (viewer)
 *
 * Every error a client can cause is a 4xx with a JSON body {error: {code, message}}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import type { Daemon } from '../daemon/daemon.ts';
import type { Context } from '../operations/context.ts';
import { drillHistory } from '../operations/drill.ts';
import { guardTarget } from '../operations/restore-guards.ts';
import { createSource } from '../sources/registry.ts';
import { listSnapshots } from '../operations/snapshots.ts';
import { describeError, isLifeboatError } from '../errors.ts';
import type { Role } from './auth.ts';
import { jobView, operationsByJob } from './job-view.ts';

export interface V1 {
  readonly ctx: Context;
  readonly daemon: Daemon;
}

const MAX_BODY = 64 * 1024;

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * A request body's problems, each with its field: "target: required", "body: unknown key "x"".
 * The body is parsed with `reportInput` so that a missing field can be told from a wrong one; the
 * input itself is never put into the answer (a target may hold a typed password).
 */
function badRequest(err: z.ZodError): HttpError {
  const text = err.issues.map((i) => {
    const where = i.path.join('.') || 'body';
    if (i.code === 'unrecognized_keys') return `${where}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    if (i.code === 'invalid_type' && i.input === undefined) return `${where}: required`;
    if (i.code === 'too_small' && i.origin === 'string' && i.minimum === 1) return `${where}: must not be empty`;
    return `${where}: ${i.message}`;
  });
  return new HttpError(400, 'BAD_REQUEST', text.join('; '));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'BODY_TOO_LARGE', `the request body is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  if (!type.startsWith('application/json')) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'BAD_JSON', 'the request body is not valid JSON');
  }
}

const restoreBody = z.strictObject({
  snapshot: z.string().min(1).max(64).default('latest'),
  target: z.string().min(1).max(4096),
  site: z.string().min(1).max(64).optional(),
  force: z.boolean().optional(),
  clean: z.boolean().optional(),
  noOwner: z.boolean().optional(),
  jobs: z.int().min(1).max(64).optional(),
  globals: z.boolean().optional(),
});

const drillBody = z.strictObject({
  snapshot: z.string().min(1).max(64).optional(),
  site: z.string().min(1).max(64).optional(),
});

/** A request's `site`, when given, must be one of the job's. */
function checkSite(job: { readonly name: string; readonly sites: readonly string[] }, site: string | undefined): void {
  if (site !== undefined && !job.sites.includes(site)) throw new HttpError(400, 'BAD_REQUEST', `site: ${site} is not a site of job ${job.name}`);
}

function jobOr404(v: V1, name: string) {
  const job = v.ctx.config.jobs.get(name);
  if (!job) throw new HttpError(404, 'UNKNOWN_JOB', `no job named "${name}"`);
  return job;
}

/** Which role a route needs, or undefined when no route matches. */
export function routeRole(method: string, parts: string[]): Role | undefined {
  if (method === 'GET' && parts.length === 1 && parts[0] === 'jobs') return 'viewer';
  if (method === 'GET' && parts.length === 3 && parts[0] === 'jobs' && (parts[2] === 'snapshots' || parts[2] === 'drills')) return 'viewer';
  if (method === 'POST' && parts.length === 3 && parts[0] === 'jobs' && (parts[2] === 'backups' || parts[2] === 'restores' || parts[2] === 'drills')) return 'operator';
  if (method === 'GET' && parts.length <= 2 && parts[0] === 'operations') return 'viewer';
  if (method === 'GET' && parts.length === 1 && parts[0] === 'whoami') return 'viewer';
  return undefined;
}

export async function handleV1(v: V1, req: IncomingMessage, res: ServerResponse, parts: string[], caller: { name: string; role: Role }): Promise<void> {
  try {
    const method = req.method ?? 'GET';
    if (method === 'GET' && parts[0] === 'whoami') return json(res, 200, caller);
    if (method === 'GET' && parts[0] === 'jobs' && parts.length === 1) {
      const now = Date.now();
      const byJob = operationsByJob(v.daemon);
      return json(res, 200, { now: new Date(now).toISOString(), jobs: [...v.ctx.config.jobs.values()].map((j) => jobView(v.daemon, j, now, byJob)) });
    }
    if (method === 'GET' && parts[0] === 'jobs' && parts[2] === 'snapshots') {
      const job = jobOr404(v, parts[1]!);
      const list = await listSnapshots(v.ctx, job.name);
      return json(res, 200, {
        job: job.name,
        snapshots: list.snapshots.map((s) => ({ id: s.id, createdAt: s.manifest.createdAt, sourceBytes: s.manifest.payload.plaintext.bytes, storedBytes: s.manifest.payload.ciphertext.bytes, sites: s.sites })),
        problems: list.listings.flatMap((l) => [
          ...(l.error ? [`site ${l.site}: ${l.error.message}`] : []),
          ...(l.noRepository ? [`site ${l.site}: ${l.noRepository}`] : []),
          ...l.damaged.map((d) => `site ${l.site}: ${d.id}: ${d.reason}`),
        ]),
      });
    }
    if (method === 'POST' && parts[0] === 'jobs' && parts[2] === 'backups') {
      const job = jobOr404(v, parts[1]!);
      await readJson(req);
      const op = v.daemon.trigger(job, `API request by ${caller.name}`);
      if (!op) throw new HttpError(503, 'SHUTTING_DOWN', 'the daemon is shutting down');
      return json(res, 202, { operation: op });
    }
    if (method === 'POST' && parts[0] === 'jobs' && parts[2] === 'restores') {
      const job = jobOr404(v, parts[1]!);
      const parsed = restoreBody.safeParse(await readJson(req), { reportInput: true });
      if (!parsed.success) throw badRequest(parsed.error);
      const b = parsed.data;
      const request = {
        snapshot: b.snapshot,
        target: b.target,
        ...(b.site ? { site: b.site } : {}),
        ...(b.force ? { force: true } : {}),
        ...(b.clean ? { clean: true } : {}),
        ...(b.noOwner ? { noOwner: true } : {}),
        ...(b.jobs ? { jobs: b.jobs } : {}),
        ...(b.globals ? { globals: true } : {}),
      };
      // What is wrong with the target itself is answered now, not as a failed operation later.
      checkSite(job, b.site);
      await guardTarget(v.ctx, createSource(job.source), request, job.name).catch((err: unknown) => {
        if (isLifeboatError(err) && err.code === 'USAGE') throw new HttpError(400, 'BAD_REQUEST', `target: ${err.message}`);
        throw err;
      });
      const op = v.daemon.restore(job, request, `API request by ${caller.name}`);
      if (!op) throw new HttpError(503, 'SHUTTING_DOWN', 'the daemon is shutting down');
      return json(res, 202, { operation: op });
    }
    if (method === 'GET' && parts[0] === 'jobs' && parts[2] === 'drills') {
      const job = jobOr404(v, parts[1]!);
      const { reports, errors } = await drillHistory(v.ctx, job.name);
      return json(res, 200, { job: job.name, drills: reports.slice(0, 100), problems: errors });
    }
    if (method === 'POST' && parts[0] === 'jobs' && parts[2] === 'drills') {
      const job = jobOr404(v, parts[1]!);
      if (!job.drill) throw new HttpError(409, 'NO_DRILL', `job ${job.name} has no drill section in the config`);
      const parsed = drillBody.safeParse(await readJson(req), { reportInput: true });
      if (!parsed.success) throw badRequest(parsed.error);
      checkSite(job, parsed.data.site);
      const op = v.daemon.triggerDrill(job, `API request by ${caller.name}`, {
        ...(parsed.data.snapshot ? { snapshot: parsed.data.snapshot } : {}),
        ...(parsed.data.site ? { site: parsed.data.site } : {}),
      });
      if (!op) throw new HttpError(503, 'SHUTTING_DOWN', 'the daemon is shutting down');
      return json(res, 202, { operation: op });
    }
    if (method === 'GET' && parts[0] === 'operations' && parts.length === 1) {
      const query = new URL(req.url ?? '/', 'http://api').searchParams;
      const job = query.get('job') ?? undefined;
      if (job !== undefined) jobOr404(v, job);
      const limit = Number(query.get('limit') ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new HttpError(400, 'BAD_REQUEST', 'limit: an integer from 1 to 500');
      return json(res, 200, { operations: v.daemon.operations.list({ ...(job !== undefined ? { job } : {}), limit }) });
    }
    if (method === 'GET' && parts[0] === 'operations') {
      const op = v.daemon.operations.get(parts[1]!);
      if (!op) throw new HttpError(404, 'UNKNOWN_OPERATION', `no operation ${parts[1]} (operations are kept in memory until the daemon restarts)`);
      return json(res, 200, { operation: op });
    }
    throw new HttpError(404, 'NOT_FOUND', 'no such endpoint');
  } catch (err) {
    if (err instanceof HttpError) {
      // The rest of an oversized body is not read: close the connection instead of reusing it.
      if (err.status === 413) res.setHeader('connection', 'close');
      return json(res, err.status, { error: { code: err.code, message: err.message } });
    }
    if (isLifeboatError(err) && (err.code === 'USAGE' || err.code === 'NOT_FOUND')) return json(res, 400, { error: { code: err.code, message: err.message } });
    return json(res, 500, { error: { code: 'INTERNAL', message: describeError(err) } });
  }
}
