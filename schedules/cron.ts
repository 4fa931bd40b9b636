/**
 * Checks a schedule's cron expression and time zone before Temporal sees them, so a typo
 * is a 400 naming the field and the part at fault instead of a server error later.
 * Accepted: the five classic fields (minute hour day-of-month month day-of-week), each a
 * comma list of `*`, `N`, `N-M`, with an optional `/STEP`, month and weekday names
 * (JAN, MON), and the macros @yearly @annually @monthly @weekly @daily @midnight @hourly.
 */
export interface CronViolation {
  pointer: string;
  message: string;
}

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: { name: string; min: number; max: number; names?: string[]; base?: number }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, base: 1 },
  // 7 is Sunday too, as in most crons.
  { name: 'day of week', min: 0, max: 7, names: DAYS, base: 0 },
];

export const MAX_CRON_LENGTH = 200;

export function cronViolations(cron: unknown, pointer = '/cron'): CronViolation[] {
  if (typeof cron !== 'string' || !cron.trim()) return [{ pointer, message: 'must be a cron expression such as "0 2 * * *"' }];
  if (cron.length > MAX_CRON_LENGTH) return [{ pointer, message: `must be at most ${MAX_CRON_LENGTH} characters` }];
  const text = cron.trim();
  if (text.startsWith('@')) return MACROS.has(text.toLowerCase()) ? [] : [{ pointer, message: `'${text}' is not a known macro (${[...MACROS].join(', ')})` }];
  const parts = text.split(/\s+/);
  if (parts.length !== 5) return [{ pointer, message: `must have 5 fields (minute hour day-of-month month day-of-week), not ${parts.length}` }];
  const out: CronViolation[] = [];
  parts.forEach((part, i) => {
    const problem = fieldProblem(part, FIELDS[i]!);
    if (problem) out.push({ pointer, message: `field ${i + 1} (${FIELDS[i]!.name}) '${part}': ${problem}` });
  });
  return out;
}

function fieldProblem(part: string, f: (typeof FIELDS)[number]): string | null {
  for (const item of part.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!m) return `'${item}' is not *, N, N-M or one of those with /STEP`;
    const [, range, step] = m;
    if (step !== undefined && (Number(step) < 1 || Number(step) > f.max)) return `step ${step} must be from 1 to ${f.max}`;
    if (range === '*') continue;
    const bounds = range!.split('-');
    if (bounds.length > 2) return `'${range}' is not N or N-M`;
    const values: number[] = [];
    for (const b of bounds) {
      const v = valueOf(b, f);
      if (v === null) return `'${b}' is not ${f.names ? `a number from ${f.min} to ${f.max} or a name (${f.names.join(' ')})` : `a number from ${f.min} to ${f.max}`}`;
      values.push(v);
    }
    if (values.length === 2 && values[0]! > values[1]!) return `range ${range} runs backwards`;
  }
  return null;
}

function valueOf(s: string, f: (typeof FIELDS)[number]): number | null {
  if (/^\d{1,2}$/.test(s)) {
    const n = Number(s);
    return n >= f.min && n <= f.max ? n : null;
  }
  const i = f.names?.indexOf(s.toUpperCase()) ?? -1;
  return i >= 0 ? i + f.base! : null;
}

/** An IANA zone name the runtime knows (Temporal's server resolves the same database). */
export function timezoneViolations(tz: unknown, pointer = '/timezone'): CronViolation[] {
  if (typeof tz !== 'string' || !/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(tz)) return [{ pointer, message: 'must be an IANA time zone name such as Europe/Paris or UTC' }];
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return [];
  } catch {
    return [{ pointer, message: `'${tz}' is not a known IANA time zone (for example Europe/Paris, America/New_York, UTC)` }];
  }
}
