// The schedule interval that decides catch-up for jobs without an RPO objective.
import { describe, expect, it } from 'vitest';
import { scheduleIntervalMs } from '../../src/daemon/interval.ts';

describe('schedule interval', () => {
  const now = new Date('2026-11-27T06:30:10Z');
  it('measures seconds-level, hourly and daily schedules', () => {
    expect(scheduleIntervalMs('*/2 * * * * *', undefined, now)).toBe(4_000); // 06:30:08 → 06:30:12
    expect(scheduleIntervalMs('0 * * * *', undefined, now)).toBe(3_600_000);
    expect(scheduleIntervalMs('0 3 * * *', 'Europe/Berlin', now)).toBe(86_400_000);
  });

  it('spans the irregular gaps of a weekday schedule', () => {
    // Saturday 28 Nov: the previous run was Friday 03:00, the next Monday 03:00.
    expect(scheduleIntervalMs('0 3 * * 1-5', 'UTC', new Date('2026-11-28T12:00:00Z'))).toBe(3 * 86_400_000);
  });
});
