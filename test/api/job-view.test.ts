import { describe, expect, it } from 'vitest';
import { rpoStatus, rtoStatus, worst } from '../../src/api/job-view.ts';

const now = Date.parse('2026-11-27T12:00:00Z');
const ago = (s: number): Date => new Date(now - s * 1000);

describe('job status against objectives', () => {
  it('rates the recovery point: ok, at risk past 80% of the RPO, breached past it or with no snapshot', () => {
    expect(rpoStatus(ago(600), 3600_000, now)).toEqual({ level: 'ok', ageSeconds: 600, objectiveSeconds: 3600 });
    expect(rpoStatus(ago(3000), 3600_000, now).level).toBe('at-risk');
    expect(rpoStatus(ago(3601), 3600_000, now).level).toBe('breached');
    expect(rpoStatus(undefined, 3600_000, now)).toEqual({ level: 'breached', ageSeconds: null, objectiveSeconds: 3600 });
    expect(rpoStatus(ago(10), undefined, now).level).toBe('none');
  });

  it('rates the measured recovery time against the RTO, and says when nothing is measured yet', () => {
    expect(rtoStatus(100, 600_000).level).toBe('ok');
    expect(rtoStatus(500, 600_000).level).toBe('at-risk');
    expect(rtoStatus(601, 600_000).level).toBe('breached');
    expect(rtoStatus(undefined, 600_000)).toEqual({ level: 'unknown', measuredSeconds: null, objectiveSeconds: 600 });
    expect(rtoStatus(100, undefined).level).toBe('none');
  });

  it('takes the worst level for the job', () => {
    expect(worst(['ok', 'none'])).toBe('ok');
    expect(worst(['ok', 'unknown'])).toBe('unknown');
    expect(worst(['unknown', 'at-risk', 'ok'])).toBe('at-risk');
    expect(worst(['at-risk', 'breached', 'none'])).toBe('breached');
    expect(worst(['none'])).toBe('none');
  });
});
