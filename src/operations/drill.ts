/**
 * The drill operation: restore a snapshot into a scratch target, run the job's checks on it, and
 * record how long the recovery took. The outcome is `passed`, `failed` (no snapshot, a damaged copy,
 * a restore error, a failing check) or `slow` (every check passed, but the measured recovery time
 * exceeded the RTO objective). A report is written to the job's sites whatever the outcome; the
 * scratch target is removed whatever the outcome.
 *
 * The measured recovery time runs from the start of the download to the end of the checks — a
 * verified restore. Preparing the scratch target (creating a database, starting an ephemeral
 * cluster) is timed as its own phase and not counted: in a real recovery the target exists.
 */
import { hostname } from 'node:os';
import type { SnapshotEntry } from '../catalog/catalog.ts';
import { listDrillReports, writeDrillReport, type CheckResult, type DrillOutcome, type DrillReport, DRILL_REPORT_FORMAT } from '../catalog/drill-report.ts';
import { newSnapshotId } from '../catalog/snapshot-id.ts';
import type { DrillConfig, JobConfig } from '../config/model.ts';
import { runChecks } from '../drills/checks.ts';
import { createScratch, type Scratch } from '../drills/scratch.ts';
import { LifeboatError, describeError } from '../errors.ts';
import { createSource } from '../sources/registry.ts';
import type { Source } from '../sources/source.ts';
import { VERSION } from '../version.ts';
import type { Context } from './context.ts';
import { restore } from './restore.ts';
import { listSnapshots, pickSnapshot } from './snapshots.ts';

export interface DrillRequest {
  /** A snapshot id, or `latest` (the default). */
  readonly snapshot?: string;
  /** Drill from this site instead of the configured choice. */
  readonly site?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: { phase: string; bytes?: number; total?: number }) => void;
}

export interface DrillResult {
  readonly report: DrillReport;
  /** Sites where the report could not be written. */
  readonly unwritten: { site: string; error: string }[];
}

export function drillConfig(job: JobConfig, file: string): DrillConfig {
  if (!job.drill) throw new LifeboatError('USAGE', `job ${job.name} has no drill section in ${file}: add drill: { target, checks } to it`);
  return job.drill;
}

/** With `rotate`, the next site after the one the previous drill used, among those holding the snapshot. */
export function chooseSite(job: JobConfig, cfg: DrillConfig, entry: SnapshotEntry, previous: readonly DrillReport[], wanted?: string): string {
  const pick = wanted ?? (cfg.site === 'rotate' ? undefined : cfg.site);
  if (pick !== undefined) {
    if (!entry.sites.includes(pick)) throw new LifeboatError('NOT_FOUND', `snapshot ${entry.id} is not on site ${pick} (it is on ${entry.sites.join(', ')})`);
    return pick;
  }
  const last = previous.find((r) => r.site !== undefined)?.site;
  const order = job.sites.filter((s) => entry.sites.includes(s));
  const after = last === undefined ? -1 : job.sites.indexOf(last);
  return order.find((s) => job.sites.indexOf(s) > after) ?? order[0]!;
}

/** The source that restores in a drill: the job's, or for command targets with their own restore argv. */
function drillSource(job: JobConfig, cfg: DrillConfig): Source {
  if (cfg.target.type === 'command' && job.source.type === 'command') {
    return createSource({ ...job.source, ...(cfg.target.restore ? { restore: cfg.target.restore } : {}), env: { ...job.source.env, ...cfg.target.env } });
  }
  return createSource(job.source);
}

const seconds = (from: number, to = Date.now()): number => Math.round((to - from) / 10) / 100;

export async function drill(ctx: Context, jobName: string, r: DrillRequest = {}): Promise<DrillResult> {
  const job = ctx.job(jobName);
  const cfg = drillConfig(job, ctx.config.file);
  const sites = await ctx.jobSites(job);
  if (r.site !== undefined) await ctx.jobSites(job, r.site);
  const started = Date.now();
  const drillId = newSnapshotId(new Date(started));
  const signal = cfg.timeoutMs === undefined ? (r.signal ?? new AbortController().signal) : AbortSignal.any([...(r.signal ? [r.signal] : []), AbortSignal.timeout(cfg.timeoutMs)]);
  const phases = { prepareSeconds: 0, restoreSeconds: 0, checksSeconds: 0 };
  const warnings: string[] = [];
  let checks: CheckResult[] = [];
  let entry: SnapshotEntry | undefined;
  let site: string | undefined;
  let scratch: Scratch | undefined;
  let error: string | undefined;
  let recoveryTimeSeconds: number | undefined;
  let restoredBytes: number | undefined;
  try {
    const previous = (await listDrillReports(sites, job.name, ctx.config.signing.trusted)).reports;
    entry = pickSnapshot(await listSnapshots(ctx, job.name), r.snapshot ?? 'latest');
    site = chooseSite(job, cfg, entry, previous, r.site);
    r.onProgress?.({ phase: 'prepare' });
    const prepared = Date.now();
    scratch = await createScratch(cfg.target, job.name);
    phases.prepareSeconds = seconds(prepared);
    const restoring = Date.now();
    r.onProgress?.({ phase: 'restore' });
    await restore(ctx, job.name, {
      snapshot: entry.id,
      site,
      target: scratch.target,
      ...scratch.options,
      purpose: 'drill',
      source: drillSource(job, cfg),
      signal,
      onProgress: (p) => r.onProgress?.({ phase: 'restore', bytes: p.bytes, total: p.total }),
    });
    restoredBytes = entry.manifest.payload.plaintext.bytes;
    phases.restoreSeconds = seconds(restoring);
    const checking = Date.now();
    r.onProgress?.({ phase: 'checks' });
    checks = await runChecks(cfg.checks, scratch, entry.manifest, signal);
    phases.checksSeconds = seconds(checking);
    recoveryTimeSeconds = seconds(restoring);
    if (signal.aborted) error = `drill aborted: ${describeError(signal.reason)}`;
  } catch (err) {
    error = signal.aborted ? `drill aborted: ${describeError(signal.reason)}` : describeError(err);
  } finally {
    if (scratch) await scratch.remove().catch((err: unknown) => warnings.push(`the scratch target (${scratch!.description}) could not be removed: ${describeError(err)}`));
  }
  const rto = job.objectives.rtoMs === undefined ? undefined : job.objectives.rtoMs / 1000;
  const outcome: DrillOutcome =
    error !== undefined || checks.some((c) => !c.passed) ? 'failed' : rto !== undefined && recoveryTimeSeconds !== undefined && recoveryTimeSeconds > rto ? 'slow' : 'passed';
  const report: DrillReport = {
    format: DRILL_REPORT_FORMAT,
    job: job.name,
    drillId,
    outcome,
    ...(error !== undefined ? { error } : {}),
    ...(entry ? { snapshotId: entry.id, snapshotCreatedAt: entry.manifest.createdAt } : {}),
    ...(site !== undefined ? { site } : {}),
    target: { kind: scratch?.kind ?? cfg.target.type, description: scratch?.description ?? cfg.target.type },
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    phases,
    ...(recoveryTimeSeconds !== undefined ? { recoveryTimeSeconds } : {}),
    ...(rto !== undefined ? { rtoObjectiveSeconds: rto } : {}),
    ...(restoredBytes !== undefined ? { restoredBytes } : {}),
    checks,
    ...(warnings.length ? { warnings } : {}),
    producer: { name: 'lifeboat', version: VERSION, host: hostname() },
  };
  const unwritten = await writeDrillReport(sites, report, ctx.config.signing.key);
  return { report, unwritten };
}

/** The drill history of a job, newest first, from all its sites. */
export async function drillHistory(ctx: Context, jobName: string): Promise<{ reports: DrillReport[]; errors: string[] }> {
  const job = ctx.job(jobName);
  return listDrillReports(await ctx.jobSites(job), job.name, ctx.config.signing.trusted);
}
