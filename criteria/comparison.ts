/** comparison: a run metric against a threshold. A metric the run cannot provide is not_evaluated, never a silent 0. */
import type { ComparisonMetric } from '../domain/contract';
import type { RunMetrics } from '../store/runs';
import { fail, pass, type CriterionEvaluator } from './types';

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

const METRICS: Record<ComparisonMetric, { of: (m: RunMetrics) => number | null; unit: string }> = {
  duration_seconds: { of: (m) => seconds(m.agentDurationMs), unit: 's' },
  agent_duration_seconds: { of: (m) => seconds(m.agentDurationMs), unit: 's' },
  run_duration_seconds: { of: (m) => seconds(m.runDurationMs), unit: 's' },
  agent_exit_code: { of: (m) => m.agentExitCode, unit: '' },
  input_tokens: { of: (m) => m.inputTokens, unit: '' },
  output_tokens: { of: (m) => m.outputTokens, unit: '' },
  total_tokens: { of: (m) => (m.inputTokens === null || m.outputTokens === null ? null : m.inputTokens + m.outputTokens), unit: '' },
  cost_usd: { of: (m) => m.costUsd, unit: ' USD' },
  agent_turns: { of: (m) => m.agentTurns, unit: '' },
  tool_calls: { of: (m) => m.toolCalls, unit: '' },
};

const OPERATORS = {
  lt: { test: (a: number, b: number) => a < b, sign: '<' },
  lte: { test: (a: number, b: number) => a <= b, sign: '<=' },
  gt: { test: (a: number, b: number) => a > b, sign: '>' },
  gte: { test: (a: number, b: number) => a >= b, sign: '>=' },
  eq: { test: (a: number, b: number) => a === b, sign: '==' },
  neq: { test: (a: number, b: number) => a !== b, sign: '!=' },
} as const;

export const comparison: CriterionEvaluator<'comparison'> = {
  executable: true,
  timeoutSeconds: () => 0,
  async evaluate(c, { metrics }) {
    const metric = METRICS[c.metric];
    const value = metric.of(metrics);
    if (value === null) {
      return { status: 'not_evaluated', score: null, evidence: `${c.metric} is not known for this run (its harness does not report it)` };
    }
    const op = OPERATORS[c.operator];
    const shown = Number.isInteger(value) ? String(value) : value.toFixed(3);
    const evidence = `${c.metric} = ${shown}${metric.unit}; required ${op.sign} ${c.value}${metric.unit}`;
    return op.test(value, c.value) ? pass(c, `${evidence}: holds`) : fail(`${evidence}: does not hold`);
  },
};
