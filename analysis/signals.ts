/**
 * A run's signal values, one per definition of its iteration's signal config. Rubric
 * questions are answered by the model beforehand (analysis/model.ts) and passed in; a value
 * that cannot be had (a metric the harness does not report, a pattern that timed out) is
 * null and, when it is a fault, reported in `problems`.
 */
import { builtinSignal } from './builtins';
import { matchPattern } from './patterns';
import type { MetricName, SignalDefinition } from './signalConfig';
import { actionsOfRun, textsOf } from './transcriptText';
import type { RunFacts, SignalValue } from './types';

export function metricValue(run: RunFacts, metric: MetricName): SignalValue {
  const secs = (ms: number | null) => (ms === null ? null : ms / 1000);
  switch (metric) {
    case 'agent_duration_seconds':
      return secs(run.agentDurationMs);
    case 'run_duration_seconds':
      return secs(run.runDurationMs);
    case 'input_tokens':
      return run.inputTokens;
    case 'output_tokens':
      return run.outputTokens;
    case 'total_tokens':
      return run.inputTokens === null || run.outputTokens === null ? null : run.inputTokens + run.outputTokens;
    case 'cost_usd':
      return run.costUsd;
    case 'agent_turns':
      return run.agentTurns;
    case 'tool_calls':
      return run.toolCalls;
    case 'agent_exit_code':
      return run.agentExitCode;
    case 'score':
      return run.score;
    case 'passed':
      return run.passed;
    case 'timed_out':
      return run.agentTimedOut;
    case 'failure_category':
      return run.failureCategory ?? 'none';
    case 'stop_reason':
      return run.agentStopReason;
    case 'status':
      return run.status;
  }
}

export function extractSignals(
  run: RunFacts,
  definitions: SignalDefinition[],
  answers: Record<string, SignalValue>,
): { signals: Record<string, SignalValue>; problems: string[] } {
  const signals: Record<string, SignalValue> = {};
  const problems: string[] = [];
  const actions = actionsOfRun(run);
  for (const def of definitions) {
    const s = def.source;
    switch (s.kind) {
      case 'metric':
        signals[def.name] = metricValue(run, s.metric);
        break;
      case 'builtin':
        signals[def.name] = builtinSignal(s.builtin, actions);
        break;
      case 'criterion': {
        const c = run.criteria.find((x) => x.name === s.criterion || `${x.goal}/${x.name}` === s.criterion);
        if (!c) problems.push(`signal ${def.name}: the run has no criterion '${s.criterion}'`);
        signals[def.name] = c ? (s.measure === 'passed' ? c.passed : c.score) : null;
        break;
      }
      case 'pattern': {
        try {
          const m = matchPattern(s.pattern, s.flags, s.in.flatMap((scope) => textsOf(run, scope)).sort((a, b) => a.seq - b.seq));
          signals[def.name] = s.measure === 'count' ? m.count : s.measure === 'first_position' ? m.firstSeq : m.count > 0;
        } catch (err) {
          problems.push(`signal ${def.name}: pattern not evaluated: ${(err as Error).message}`);
          signals[def.name] = null;
        }
        break;
      }
      case 'question':
        signals[def.name] = answers[def.name] ?? null;
        break;
    }
  }
  return { signals, problems };
}
