/**
 * llm_judge: a model judges the run against a rubric (the criterion's `rubric`, else its
 * or its goal's description) given the task prompt, the end of the agent's output (cut
 * marked) and any named files. The verdict, model, prompt version, raw answer and the
 * judge's own token usage are kept with the result, apart from the agent's usage.
 */
import { EvaluationError } from '../domain/errors';
import { AGENT_LOG } from '../harnesses/command';
import { readSandboxFile } from './sandboxFiles';
import type { CriterionEvaluator } from './types';

export const DEFAULT_JUDGE_MODEL = 'claude-sonnet-4-6';
/** Roughly 30k tokens of agent output; the most recent part is what the verdict rests on. */
const OUTPUT_BUDGET_BYTES = 120 * 1024;
const FILE_BUDGET_BYTES = 32 * 1024;

export const llmJudge: CriterionEvaluator<'llm_judge'> = {
  executable: true,
  timeoutSeconds: () => 300,
  async evaluate(c, ctx) {
    const rubric = c.rubric ?? c.description;
    if (!rubric) throw new EvaluationError('llm_judge needs a rubric (or a description) to judge against');
    if (!ctx.judge) throw new EvaluationError('no judge model is configured: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a gateway)');
    const log = await ctx.sandbox.readFileTail(AGENT_LOG, OUTPUT_BUDGET_BYTES, ctx.onProgress);
    // The log as stored: the agent's log artifact is redacted, and so is what a model is sent.
    const output = log ? log.content.toString('utf8') : '';
    const agentOutput = log?.truncated ? `[… earlier output omitted; the last ${OUTPUT_BUDGET_BYTES} bytes follow …]\n${output}` : output || '(the agent printed nothing)';
    const files = [];
    for (const p of c.files ?? []) {
      const f = await readSandboxFile(ctx.sandbox, p, FILE_BUDGET_BYTES);
      files.push({ path: p, content: f.found ? `${f.content.toString('utf8')}${f.truncated ? `\n[… cut at ${FILE_BUDGET_BYTES} of ${f.size} bytes …]` : ''}` : `(${f.why})` });
    }
    const v = await ctx.judge.judge({
      model: c.model ?? DEFAULT_JUDGE_MODEL,
      rubric,
      taskPrompt: ctx.run.task.prompt,
      agentOutput,
      files,
      maxScore: c.maxScore,
      signal: ctx.signal,
    });
    return {
      status: 'evaluated',
      score: v.score,
      evidence: `${v.model} (${v.promptVersion}): ${v.passed ? 'met' : 'not met'}, ${v.score}/${c.maxScore}\n${v.reasons.map((r) => `- ${r}`).join('\n')}`,
      details: { judge: { model: v.model, promptVersion: v.promptVersion, raw: v.raw, asks: v.asks, usage: v.usage, passed: v.passed } },
    };
  },
};
