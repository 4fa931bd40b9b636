/**
 * One run's analysis: its signal values and its friction points. The deterministic parts
 * always run; the model answers rubric questions and, when the config asks, finds the
 * friction points. Whatever the model cannot do is reported in `problems` and falls back:
 * an analysis never fails a run nor changes its score or verdict.
 */
import { deterministicFriction } from './friction';
import { AnalysisModelError, type AnalysisModel } from './model';
import { answerQuestion, modelFriction } from './modelQuestions';
import { DEFAULT_ANALYSIS_MODEL, needsModel, type SignalConfig } from './signalConfig';
import { extractSignals } from './signals';
import type { RunAnalysisDocument, RunFacts, SignalValue } from './types';

export const NO_MODEL = 'no analysis model is configured: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a gateway)';

const reason = (err: unknown) => (err instanceof AnalysisModelError ? err.message : `the analysis model failed: ${(err as Error).message}`);

export async function analyzeRunFacts(run: RunFacts, config: SignalConfig, model?: AnalysisModel): Promise<RunAnalysisDocument> {
  const problems: string[] = [];
  const modelName = config.model ?? DEFAULT_ANALYSIS_MODEL;
  const usable = model && needsModel(config) ? model : undefined;
  if (!model && needsModel(config)) problems.push(NO_MODEL);

  const answers: Record<string, SignalValue> = {};
  for (const def of config.signals) {
    if (def.source.kind !== 'question' || !usable) continue;
    try {
      answers[def.name] = await answerQuestion(usable, modelName, run, def);
    } catch (err) {
      problems.push(`signal ${def.name}: ${reason(err)}`);
    }
  }
  const { signals, problems: signalProblems } = extractSignals(run, config.signals, answers);
  problems.push(...signalProblems);

  const deterministic = deterministicFriction(run);
  let friction: RunAnalysisDocument['friction'] = { source: 'deterministic', points: deterministic };
  if (config.frictionModel && usable) {
    try {
      friction = { source: 'model', points: await modelFriction(usable, modelName, run) };
    } catch (err) {
      problems.push(`friction points: ${reason(err)}; the deterministic analysis stands in`);
    }
  }
  return { runId: run.runId, signals, friction, deterministicFriction: deterministic, problems, model: usable ? modelName : null };
}
