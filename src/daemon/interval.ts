/**
 * The length of a schedule's current interval: from the fire time before now to the next one.
 * A job with no RPO objective is overdue once its newest snapshot is older than that (it missed a
 * run). node-cron fires the schedules but only looks forward; cron-parser also looks back.
 */
import { CronExpressionParser } from 'cron-parser';

export function scheduleIntervalMs(expression: string, timezone: string | undefined, now = new Date()): number | undefined {
  try {
    const at = (): ReturnType<typeof CronExpressionParser.parse> => CronExpressionParser.parse(expression, { currentDate: now, ...(timezone ? { tz: timezone } : {}) });
    return at().next().getTime() - at().prev().getTime();
  } catch {
    // An expression node-cron accepts and cron-parser does not: no interval-based catch-up.
    return undefined;
  }
}
