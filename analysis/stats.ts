/**
 * The statistics of iteration results, pure and deterministic: descriptive summaries,
 * Wilson intervals for rates, t intervals for means, Fisher's exact test for pass rates,
 * Welch's t test for mean scores, and Holm's correction across a family of tests.
 */

export type Interval = [number, number];

export function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null;
}

/** Sample variance (n - 1); null below two values. */
export function variance(xs: number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs)!;
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
}

/** Linear interpolation between order statistics (R's type 7, numpy's default). */
export function quantile(xs: number[], q: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}

export interface Histogram {
  /** bins + 1 ascending edges; the last bin includes its upper edge. */
  edges: number[];
  counts: number[];
}

/** Equal-width bins over [min, max]; at most `bins` of them, one when every value is equal. */
export function histogram(xs: number[], bins = 10): Histogram | null {
  if (!xs.length) return null;
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  if (min === max) return { edges: [min, max], counts: [xs.length] };
  const k = Math.max(1, Math.min(bins, xs.length));
  const width = (max - min) / k;
  const edges = Array.from({ length: k + 1 }, (_, i) => round(min + i * width, 12));
  edges[k] = max;
  const counts = new Array<number>(k).fill(0);
  for (const x of xs) counts[Math.min(k - 1, Math.floor((x - min) / width))]!++;
  return { edges, counts };
}

export function round(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Wilson score interval for k successes in n trials (z = 1.96: 95 %). */
export function wilson(k: number, n: number, z = 1.959963984540054): Interval | null {
  if (n <= 0) return null;
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At k = 0 and k = n the bounds are exactly 0 and 1; rounding would miss them by an ulp.
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

// --- Student's t distribution, through the regularized incomplete beta function ---

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), accurate to ~15 digits for x > 0.
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** I_x(a, b), the regularized incomplete beta function. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T <= t) for Student's t with df degrees of freedom (df may be fractional: Welch). */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t, by bisection on the CDF (monotone, so exact to 1e-12). */
export function studentTQuantile(p: number, df: number): number {
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** 95 % t interval for a mean; null below two values. */
export function meanInterval(xs: number[], level = 0.95): Interval | null {
  const v = variance(xs);
  if (v === null) return null;
  const m = mean(xs)!;
  const half = studentTQuantile(1 - (1 - level) / 2, xs.length - 1) * Math.sqrt(v / xs.length);
  return [m - half, m + half];
}

export interface TestResult {
  statistic: number | null;
  pValue: number;
  df?: number;
}

/**
 * Welch's two-sample t test (unequal variances), two-sided. Null when either side has fewer
 * than two values, or when both have no spread (the statistic is undefined).
 */
export function welchTTest(a: number[], b: number[]): TestResult | null {
  const va = variance(a);
  const vb = variance(b);
  if (va === null || vb === null) return null;
  const sa = va / a.length;
  const sb = vb / b.length;
  const se = Math.sqrt(sa + sb);
  const diff = mean(a)! - mean(b)!;
  if (se === 0) return diff === 0 ? { statistic: null, pValue: 1 } : null;
  const t = diff / se;
  const df = (sa + sb) ** 2 / (sa ** 2 / (a.length - 1) + sb ** 2 / (b.length - 1));
  return { statistic: t, df, pValue: Math.min(1, 2 * (1 - studentTCdf(Math.abs(t), df))) };
}

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/**
 * Fisher's exact test on the 2x2 table [[a, b], [c, d]], two-sided: the probability of every
 * table with the same margins that is no more likely than the one observed.
 */
export function fisherExact(a: number, b: number, c: number, d: number): TestResult {
  const row1 = a + b;
  const col1 = a + c;
  const n = a + b + c + d;
  const prob = (x: number) => Math.exp(logChoose(col1, x) + logChoose(n - col1, row1 - x) - logChoose(n, row1));
  const observed = prob(a);
  let p = 0;
  for (let x = Math.max(0, row1 + col1 - n); x <= Math.min(row1, col1); x++) {
    const px = prob(x);
    // Relative tolerance: tables as likely as the observed one, up to rounding, count.
    if (px <= observed * (1 + 1e-7)) p += px;
  }
  return { statistic: null, pValue: Math.min(1, p) };
}

/** The smallest two-sided Fisher p-value samples of these sizes could ever give. */
export function fisherMinimumP(n1: number, n2: number): number {
  if (n1 === 0 || n2 === 0) return 1;
  return fisherExact(n1, 0, 0, n2).pValue;
}

/** Holm's step-down adjustment: controls the family-wise error rate; keeps the input order. */
export function holm(ps: number[]): number[] {
  const order = ps.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p || x.i - y.i);
  const out = new Array<number>(ps.length);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (ps.length - rank) * p));
    out[i] = running;
  });
  return out;
}
