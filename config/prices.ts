/**
 * Estimated cost: USD per million tokens, per model. A model not in the table has an
 * unknown cost (null), never 0. Override or extend with SIMLAB_PRICES (a JSON file of the
 * same shape).
 */
import * as fs from 'node:fs';
import { ConfigError } from './index';

export interface ModelPrice {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

export type PriceTable = Record<string, ModelPrice>;

export const DEFAULT_PRICES: PriceTable = {
  'claude-opus-4-6': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
  'claude-opus-4-5': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
  'claude-sonnet-4-6': { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  'claude-sonnet-4-5': { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  'claude-haiku-4-5': { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 },
};

export function loadPrices(env: NodeJS.ProcessEnv = process.env): PriceTable {
  const file = env.SIMLAB_PRICES;
  if (!file) return DEFAULT_PRICES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`SIMLAB_PRICES=${JSON.stringify(file)}: cannot read a JSON price table (${(err as Error).message})`]);
  }
  const table: PriceTable = { ...DEFAULT_PRICES };
  for (const [model, p] of Object.entries(parsed as Record<string, Partial<ModelPrice>>)) {
    const ok = p && ['input', 'output', 'cacheWrite', 'cacheRead'].every((k) => typeof (p as Record<string, unknown>)[k] === 'number');
    if (!ok) throw new ConfigError([`SIMLAB_PRICES: model '${model}' needs numbers input, output, cacheWrite, cacheRead (USD per million tokens)`]);
    table[model] = p as ModelPrice;
  }
  return table;
}

/** The cost of some usage, or null when the model has no price. */
export function costOf(prices: PriceTable, model: string, u: { inputTokens: number; outputTokens: number; cacheWriteTokens: number; cacheReadTokens: number }): number | null {
  const p = prices[model] ?? prices[model.replace(/-\d{8}$/, '')];
  if (!p) return null;
  return (u.inputTokens * p.input + u.outputTokens * p.output + u.cacheWriteTokens * p.cacheWrite + u.cacheReadTokens * p.cacheRead) / 1e6;
}
