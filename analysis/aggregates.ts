/**
 * Signal aggregates: each signal folded across runs into a rate (booleans), descriptive
 * statistics and a histogram (numbers) or counts (categories), overall and grouped by
 * environment, task and variant. Unknown values (null) are counted apart, never as 0.
 */
import type { SignalDefinition, SignalType } from './signalConfig';
import { histogram, mean, quantile, round, wilson, type Histogram, type Interval } from './stats';
import type { SignalValue } from './types';

export type Aggregate =
  | { type: 'boolean'; n: number; missing: number; trueCount: number; rate: number | null; rateCi: Interval | null }
  | { type: 'number'; n: number; missing: number; mean: number | null; median: number | null; p90: number | null; min: number | null; max: number | null; histogram: Histogram | null }
  | { type: 'category'; n: number; missing: number; counts: Record<string, number> };

export interface AggregateRun {
  taskId: string;
  environmentId: string;
  variant: string | null;
  signals: Record<string, SignalValue>;
}

export interface SignalAggregates {
  overall: Record<string, Aggregate>;
  byEnvironment: Record<string, Record<string, Aggregate>>;
  byTask: Record<string, Record<string, Aggregate>>;
  byVariant: Record<string, Record<string, Aggregate>>;
}

const r = (x: number | null) => (x === null ? null : round(x));
const ci = (i: Interval | null): Interval | null => (i ? [round(i[0]), round(i[1])] : null);

export function aggregate(type: SignalType, values: SignalValue[]): Aggregate {
  const known = values.filter((v) => v !== null && v !== undefined);
  const missing = values.length - known.length;
  if (type === 'boolean') {
    const trueCount = known.filter((v) => v === true).length;
    return { type, n: known.length, missing, trueCount, rate: known.length ? round(trueCount / known.length) : null, rateCi: ci(wilson(trueCount, known.length)) };
  }
  if (type === 'number') {
    const xs = known.filter((v): v is number => typeof v === 'number');
    return {
      type,
      n: xs.length,
      missing,
      mean: r(mean(xs)),
      median: r(quantile(xs, 0.5)),
      p90: r(quantile(xs, 0.9)),
      min: xs.length ? Math.min(...xs) : null,
      max: xs.length ? Math.max(...xs) : null,
      histogram: histogram(xs),
    };
  }
  const counts: Record<string, number> = {};
  for (const v of known.map(String).sort()) counts[v] = (counts[v] ?? 0) + 1;
  return { type, n: known.length, missing, counts };
}

function fold(defs: SignalDefinition[], runs: AggregateRun[]): Record<string, Aggregate> {
  return Object.fromEntries(defs.map((d) => [d.name, aggregate(d.type, runs.map((x) => x.signals[d.name] ?? null))]));
}

function groupBy(runs: AggregateRun[], key: (r: AggregateRun) => string): [string, AggregateRun[]][] {
  const m = new Map<string, AggregateRun[]>();
  for (const x of runs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return [...m].sort(([a], [b]) => a.localeCompare(b));
}

export function signalAggregates(defs: SignalDefinition[], runs: AggregateRun[]): SignalAggregates {
  const by = (key: (r: AggregateRun) => string) => Object.fromEntries(groupBy(runs, key).map(([k, rs]) => [k, fold(defs, rs)]));
  return {
    overall: fold(defs, runs),
    byEnvironment: by((x) => x.environmentId),
    byTask: by((x) => x.taskId),
    byVariant: by((x) => x.variant ?? 'base'),
  };
}
