import { describe, expect, it } from 'vitest';
import { applyRetention, type Dated } from '../../src/catalog/retention.ts';
import type { Retention } from '../../src/config/model.ts';

function snaps(...times: string[]): Dated[] {
  return times.map((t, i) => ({ id: `s${i}-${t}`, time: new Date(t) }));
}

function kept(snapshots: Dated[], policy: Retention | undefined, tz?: string): Record<string, string[]> {
  return Object.fromEntries(applyRetention(snapshots, policy, tz).map((d) => [d.snapshot.time.toISOString().slice(0, 16), d.keptBy]));
}

describe('retention (restic semantics)', () => {
  const hourly = snaps('2026-11-27T10:05Z', '2026-11-27T10:35Z', '2026-11-27T09:10Z', '2026-11-26T23:50Z', '2026-11-26T08:00Z', '2026-11-20T08:00Z', '2026-10-31T08:00Z', '2025-12-31T23:00Z');

  it.each<[string, Retention | undefined, Record<string, string[]>]>([
    ['no policy keeps everything', undefined, Object.fromEntries(hourly.map((s) => [s.time.toISOString().slice(0, 16), ['no retention policy']]))],
    [
      'keepLast keeps the n newest',
      { keepLast: 2 },
      { '2026-11-27T10:35': ['last'], '2026-11-27T10:05': ['last'], '2026-11-27T09:10': [], '2026-11-26T23:50': [], '2026-11-26T08:00': [], '2026-11-20T08:00': [], '2026-10-31T08:00': [], '2025-12-31T23:00': [] },
    ],
    [
      'keepHourly keeps the newest of each of the n newest hours',
      { keepHourly: 2 },
      { '2026-11-27T10:35': ['hourly'], '2026-11-27T10:05': [], '2026-11-27T09:10': ['hourly'], '2026-11-26T23:50': [], '2026-11-26T08:00': [], '2026-11-20T08:00': [], '2026-10-31T08:00': [], '2025-12-31T23:00': [] },
    ],
    [
      'daily, weekly, monthly and yearly combine, and a snapshot lists every rule that keeps it',
      { keepDaily: 2, keepWeekly: 2, keepMonthly: 2, keepYearly: 2 },
      {
        '2026-11-27T10:35': ['daily', 'weekly', 'monthly', 'yearly'],
        '2026-11-27T10:05': [],
        '2026-11-27T09:10': [],
        '2026-11-26T23:50': ['daily'],
        '2026-11-26T08:00': [],
        '2026-11-20T08:00': ['weekly'],
        '2026-10-31T08:00': ['monthly'],
        '2025-12-31T23:00': ['yearly'],
      },
    ],
  ])('%s', (_name, policy, expected) => {
    expect(kept(hourly, policy)).toEqual(expected);
  });

  it('always keeps the newest snapshot, even when the policy would not', () => {
    const r = kept(snaps('2026-11-27T10:00Z', '2026-11-26T10:00Z'), { keepYearly: 0 });
    expect(r['2026-11-27T10:00']).toEqual(['newest']);
    expect(r['2026-11-26T10:00']).toEqual([]);
  });

  it('uses ISO weeks: Sunday belongs to the week that began on Monday', () => {
    // 2026-11-22 is a Sunday, 2026-11-23 a Monday: different weeks.
    const r = kept(snaps('2026-11-23T01:00Z', '2026-11-22T23:00Z', '2026-11-16T12:00Z'), { keepWeekly: 3 });
    expect(Object.values(r)).toEqual([['weekly'], ['weekly'], []]);
  });

  it('computes buckets in the job time zone when it has one', () => {
    // 22:30 and 23:30 UTC on the 26th fall on one local day in all three zones; 23:30 on the 26th
    // and 00:30 on the 27th are two days in UTC but one evening in New York.
    const s = snaps('2026-11-26T23:30Z', '2026-11-26T22:30Z');
    expect(Object.values(kept(s, { keepDaily: 5 }, 'UTC'))).toEqual([['daily'], []]);
    expect(Object.values(kept(s, { keepDaily: 5 }, 'Europe/Helsinki'))).toEqual([['daily'], []]);
    expect(Object.values(kept(s, { keepDaily: 5 }, 'America/New_York'))).toEqual([['daily'], []]);
    const across = snaps('2026-11-27T00:30Z', '2026-11-26T23:30Z');
    expect(Object.values(kept(across, { keepDaily: 5 }, 'UTC'))).toEqual([['daily'], ['daily']]);
    expect(Object.values(kept(across, { keepDaily: 5 }, 'America/New_York'))).toEqual([['daily'], []]);
  });
});
