/**
 * Drill reports: the evidence that a restore really worked. One JSON document per drill, written
 * to every site of the job that takes it (so the history outlives a lost site) under
 * `jobs/{job}/drills/{drillId}.json`. Read back, reports are untrusted input: parsed strictly.
 * Like manifests, reports hold no secrets: targets are described without passwords. With a signing
 * key they are signed, and with trusted keys an unsigned or altered report is not listed: reports
 * are evidence that a restore really passed.
 */
import { Readable } from 'node:stream';
import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { checkSignature, signDocument, type SigningKey } from '../crypto/signing.ts';
import { describeError } from '../errors.ts';
import type { Site } from '../sites/site.ts';
import { drillReportKey, drillsPrefix, parseDrillReportKey } from './layout.ts';

export const DRILL_REPORT_FORMAT = 1;

const checkResult = z.object({
  name: z.string(),
  kind: z.string(),
  passed: z.boolean(),
  /** What the check saw, pass or fail: "1523", "newest orders.created_at 4 min before capture". */
  observed: z.string(),
  expected: z.string(),
});

export type CheckResult = z.infer<typeof checkResult>;

export const OUTCOMES = ['passed', 'failed', 'slow'] as const;
export type DrillOutcome = (typeof OUTCOMES)[number];

export const drillReportSchema = z.object({
  format: z.literal(DRILL_REPORT_FORMAT),
  job: z.string(),
  drillId: z.string(),
  outcome: z.enum(OUTCOMES),
  /** Why a drill failed before or beside its checks (no snapshot, a damaged copy, a restore error). */
  error: z.string().optional(),
  snapshotId: z.string().optional(),
  /** The snapshot's capture time: the recovery point that this drill verifies. */
  snapshotCreatedAt: z.iso.datetime().optional(),
  site: z.string().optional(),
  target: z.object({ kind: z.string(), description: z.string() }),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  /** Seconds per phase: prepare (scratch target), restore (fetch, decrypt, decompress, load), checks. */
  phases: z.object({ prepareSeconds: z.number(), restoreSeconds: z.number(), checksSeconds: z.number() }),
  /** Wall time from the start of the download to a verified restore: the measured RTO. */
  recoveryTimeSeconds: z.number().optional(),
  rtoObjectiveSeconds: z.number().optional(),
  restoredBytes: z.int().min(0).optional(),
  checks: z.array(checkResult),
  /** Problems that did not decide the outcome (a scratch target that could not be removed). */
  warnings: z.array(z.string()).optional(),
  producer: z.object({ name: z.string(), version: z.string(), host: z.string() }),
  signature: z.object({ algorithm: z.literal('ed25519'), publicKey: z.string(), value: z.string() }).optional(),
});

export type DrillReport = z.infer<typeof drillReportSchema>;

const MAX_REPORT_BYTES = 1 << 20;

/** Writes the report to each site; returns the sites where it could not be written, with why. */
export async function writeDrillReport(sites: readonly Site[], r: DrillReport, key?: SigningKey): Promise<{ site: string; error: string }[]> {
  const body = Buffer.from(`${JSON.stringify(key ? signDocument(r, key) : r, null, 2)}\n`);
  const results = await Promise.allSettled(sites.map((s) => s.put(drillReportKey(r.job, r.drillId), Readable.from([body]), { retain: true })));
  return results.flatMap((res, i) => (res.status === 'rejected' ? [{ site: sites[i]!.name, error: describeError(res.reason) }] : []));
}

/** Every readable report of a job across the sites (each drill once), newest first. */
export async function listDrillReports(sites: readonly Site[], job: string, trusted?: ReadonlyMap<string, KeyObject>): Promise<{ reports: DrillReport[]; errors: string[] }> {
  const byId = new Map<string, DrillReport>();
  const errors: string[] = [];
  await Promise.all(
    sites.map(async (site) => {
      try {
        const ids: string[] = [];
        for await (const obj of site.list(drillsPrefix(job))) {
          const id = parseDrillReportKey(job, obj.key);
          if (id !== undefined) ids.push(id);
        }
        for (const id of ids) {
          if (byId.has(id)) continue;
          try {
            const text = (await site.getBytes(drillReportKey(job, id), MAX_REPORT_BYTES)).toString('utf8');
            const json = JSON.parse(text) as Record<string, unknown>;
            const why = trusted && trusted.size > 0 ? checkSignature(json, trusted) : undefined;
            if (why !== undefined) {
              errors.push(`site "${site.name}": drill report ${id} is not trusted: ${why}`);
              continue;
            }
            const r = drillReportSchema.parse(json);
            if (r.job === job && r.drillId === id) byId.set(id, r);
            else errors.push(`site "${site.name}": drill report ${id} names another job or drill`);
          } catch (err) {
            errors.push(`site "${site.name}": drill report ${id} cannot be read: ${describeError(err)}`);
          }
        }
      } catch (err) {
        errors.push(describeError(err));
      }
    }),
  );
  // Start times have milliseconds; ids only seconds.
  const key = (r: DrillReport): string => `${r.startedAt} ${r.drillId}`;
  return { reports: [...byId.values()].sort((a, b) => (key(a) < key(b) ? 1 : -1)), errors };
}
