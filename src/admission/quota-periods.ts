/** The quota periods, shortest first. */
export const QUOTA_PERIODS = ['day', 'week', 'month'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

/** The words deployed clients look for to open their subscription flow (one per period). */
export const QUOTA_EXCEEDED_WORDS: Readonly<Record<QuotaPeriod, string>> = {
  day: 'daily limit exceeded',
  week: 'weekly limit exceeded',
  month: 'monthly limit exceeded',
};

const DAY_MS = 86_400_000;

/**
 * Where the period containing `nowMs` starts and ends (epoch ms), in UTC: the day from
 * midnight, the ISO week from Monday, the calendar month from its first day.
 */
export function periodBounds(period: QuotaPeriod, nowMs: number): { start: number; end: number } {
  const now = new Date(nowMs);
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  switch (period) {
    case 'day':
      return { start: midnight, end: midnight + DAY_MS };
    case 'week': {
      const sinceMonday = (now.getUTCDay() + 6) % 7;
      const start = midnight - sinceMonday * DAY_MS;
      return { start, end: start + 7 * DAY_MS };
    }
    case 'month':
      return { start: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1), end: Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) };
  }
}
