/** Figures as people read them. Pure, unit-tested. */

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 1000) / 10}%` : '–';
}

export function score(s: number | null | undefined): string {
  return s === null || s === undefined ? '–' : (Math.round(s * 10) / 10).toString();
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'unknown';
  // Runs often cost cents: below a dollar, four decimals keep them apart.
  return v < 1 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`;
}

export function count(v: number | null | undefined): string {
  return v === null || v === undefined ? 'unknown' : v.toLocaleString('en-US');
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '–' : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/**
 * Time left for an iteration, from its throughput so far: runs ended per millisecond since
 * it started, applied to the runs still to end. Null until one run has ended (no rate yet)
 * and once none is left.
 */
export function eta(input: { startedAt: string | null; total: number; ended: number; now: number }): number | null {
  const { startedAt, total, ended, now } = input;
  if (!startedAt || ended <= 0 || ended >= total) return null;
  const elapsed = now - new Date(startedAt).getTime();
  if (!(elapsed > 0)) return null;
  return Math.round((elapsed / ended) * (total - ended));
}
