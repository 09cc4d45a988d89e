/**
 * Retention: which snapshots a policy keeps. The rules mean what they mean in restic:
 *
 * - keepLast n    the n newest snapshots
 * - keepHourly n  for each of the n newest hours that have snapshots, the newest snapshot of that hour
 * - keepDaily, keepWeekly (ISO weeks, Monday first), keepMonthly, keepYearly: the same per day,
 *   week, month and year
 *
 * A snapshot kept by several rules lists them all. Buckets are computed in UTC unless the job
 * sets a time zone. The newest snapshot is always kept, whatever the policy says; with no rule
 * set at all, everything is kept.
 */
import type { Retention } from '../config/model.ts';

export interface Dated {
  readonly id: string;
  readonly time: Date;
}

export interface Decision<T extends Dated> {
  readonly snapshot: T;
  /** The rules that keep it (e.g. ["last", "daily"]); empty means it is removed. */
  readonly keptBy: string[];
}

type Rule = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
const RULES: readonly [Rule, keyof Retention][] = [
  ['last', 'keepLast'],
  ['hourly', 'keepHourly'],
  ['daily', 'keepDaily'],
  ['weekly', 'keepWeekly'],
  ['monthly', 'keepMonthly'],
  ['yearly', 'keepYearly'],
];

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
}

function partsIn(time: Date, timeZone: string): Parts {
  const f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', hourCycle: 'h23' });
  const get = (type: string): number => Number(f.formatToParts(time).find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour') };
}

/** ISO 8601 week of a calendar date: weeks start on Monday; week 1 holds the year's first Thursday. */
function isoWeek(p: Parts): string {
  const d = new Date(Date.UTC(p.year, p.month - 1, p.day));
  const dayNumber = d.getUTCDay() || 7; // Monday 1 … Sunday 7
  d.setUTCDate(d.getUTCDate() + 4 - dayNumber); // the Thursday of the same week decides its year
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${week}`;
}

function bucket(rule: Rule, s: Dated, timeZone: string): string {
  if (rule === 'last') return s.id;
  const p = partsIn(s.time, timeZone);
  switch (rule) {
    case 'hourly':
      return `${p.year}-${p.month}-${p.day}T${p.hour}`;
    case 'daily':
      return `${p.year}-${p.month}-${p.day}`;
    case 'weekly':
      return isoWeek(p);
    case 'monthly':
      return `${p.year}-${p.month}`;
    case 'yearly':
      return `${p.year}`;
  }
}

export function hasRules(policy: Retention | undefined): boolean {
  return policy !== undefined && RULES.some(([, key]) => policy[key] !== undefined);
}

/** Decides for every snapshot whether the policy keeps it, newest first. */
export function applyRetention<T extends Dated>(snapshots: readonly T[], policy: Retention | undefined, timeZone = 'UTC'): Decision<T>[] {
  const sorted = [...snapshots].sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1));
  const decisions = sorted.map((snapshot) => ({ snapshot, keptBy: [] as string[] }));
  if (!hasRules(policy)) {
    for (const d of decisions) d.keptBy.push('no retention policy');
    return decisions;
  }
  for (const [rule, key] of RULES) {
    let left = policy![key] ?? 0;
    let last: string | undefined;
    for (const d of decisions) {
      if (left <= 0) break;
      const b = bucket(rule, d.snapshot, timeZone);
      if (b === last) continue;
      last = b;
      d.keptBy.push(rule);
      left--;
    }
  }
  const newest = decisions[0];
  if (newest && newest.keptBy.length === 0) newest.keptBy.push('newest');
  return decisions;
}
