/**
 * The model behind llm_judge: asked through the real @anthropic-ai/sdk for a structured
 * verdict (a forced tool call), validated, re-asked when malformed, retried with backoff on
 * API errors by the SDK (honouring retry-after). A judge that cannot answer throws
 * EvaluationError: the criterion is `error`, never a 0.
 */
import Anthropic from '@anthropic-ai/sdk';
import Ajv from 'ajv';
import { EvaluationError } from '../domain/errors';

/** Bumped whenever the prompt below changes, so a stored verdict says which prompt produced it. */
export const JUDGE_PROMPT_VERSION = 'simlab-judge-1';
const TOOL = 'record_verdict';
const MAX_ASKS = 3;

export interface JudgeRequest {
  model: string;
  rubric: string;
  taskPrompt: string;
  agentOutput: string;
  files: { path: string; content: string }[];
  maxScore: number;
  signal?: AbortSignal;
}

export interface JudgeVerdict {
  score: number;
  passed: boolean;
  reasons: string[];
  model: string;
  promptVersion: string;
  /** The verdict exactly as the model gave it, for audit. */
  raw: unknown;
  asks: number;
  usage: { inputTokens: number; outputTokens: number };
}

export interface Judge {
  judge(req: JudgeRequest): Promise<JudgeVerdict>;
}

const SYSTEM = [
  'You are a strict, impartial grader of an AI agent\'s attempt at a task in a sandbox.',
  'Judge only against the rubric, using the evidence given: the task, the agent\'s output and any files.',
  `Answer by calling ${TOOL} exactly once.`,
].join(' ');

function verdictSchema(maxScore: number) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['score', 'passed', 'reasons'],
    properties: {
      score: { type: 'number', minimum: 0, maximum: maxScore, description: `0 (nothing achieved) to ${maxScore} (fully achieved)` },
      passed: { type: 'boolean', description: 'whether the rubric is met' },
      reasons: { type: 'array', minItems: 1, maxItems: 20, items: { type: 'string', minLength: 1 }, description: 'short reasons, each tied to evidence' },
    },
  } as const;
}

const ajv = new Ajv({ allErrors: true, strict: false });

export function judgePrompt(req: JudgeRequest): string {
  const files = req.files.map((f) => `<file path="${f.path}">\n${f.content}\n</file>`).join('\n');
  return [
    `<rubric>\n${req.rubric}\n</rubric>`,
    `<task>\n${req.taskPrompt}\n</task>`,
    `<agent_output>\n${req.agentOutput}\n</agent_output>`,
    ...(files ? [`<files>\n${files}\n</files>`] : []),
    `Score from 0 to ${req.maxScore}.`,
  ].join('\n\n');
}

export class AnthropicJudge implements Judge {
  private readonly client: Anthropic;

  constructor(opts: { apiKey: string; baseURL?: string; maxRetries?: number }) {
    this.client = new Anthropic({ apiKey: opts.apiKey, ...(opts.baseURL ? { baseURL: opts.baseURL } : {}), maxRetries: opts.maxRetries ?? 4 });
  }

  async judge(req: JudgeRequest): Promise<JudgeVerdict> {
    const schema = verdictSchema(req.maxScore);
    const validate = ajv.compile(schema);
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: judgePrompt(req) }];
    const usage = { inputTokens: 0, outputTokens: 0 };
    for (let ask = 1; ask <= MAX_ASKS; ask++) {
      let res: Anthropic.Message;
      try {
        res = await this.client.messages.create(
          {
            model: req.model,
            max_tokens: 1024,
            system: SYSTEM,
            tools: [{ name: TOOL, description: 'Record the verdict on the agent\'s attempt.', input_schema: schema as unknown as Anthropic.Tool.InputSchema }],
            tool_choice: { type: 'tool', name: TOOL },
            messages,
          },
          req.signal ? { signal: req.signal } : {},
        );
      } catch (err) {
        if (err instanceof Anthropic.APIUserAbortError) throw err;
        const status = (err as { status?: number }).status;
        throw new EvaluationError(`the judge (${req.model}) did not answer${status ? ` (HTTP ${status})` : ''} after its retries: ${(err as Error).message}`);
      }
      usage.inputTokens += res.usage?.input_tokens ?? 0;
      usage.outputTokens += res.usage?.output_tokens ?? 0;
      const call = res.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use' && b.name === TOOL);
      const problem = !call
        ? `no ${TOOL} call in the answer`
        : validate(call.input)
          ? null
          : (validate.errors ?? []).map((e) => `${e.instancePath || '(input)'} ${e.message}`).join('; ');
      if (call && !problem) {
        const v = call.input as { score: number; passed: boolean; reasons: string[] };
        return { ...v, model: res.model ?? req.model, promptVersion: JUDGE_PROMPT_VERSION, raw: call.input, asks: ask, usage };
      }
      // Re-ask with what was wrong, in the same conversation.
      messages.push({ role: 'assistant', content: res.content });
      messages.push({
        role: 'user',
        content: call
          ? [{ type: 'tool_result', tool_use_id: call.id, is_error: true, content: `Invalid verdict: ${problem}. Call ${TOOL} again with a valid verdict.` }]
          : `Your answer did not call ${TOOL}. Call ${TOOL} with your verdict.`,
      });
      if (ask === MAX_ASKS) throw new EvaluationError(`the judge (${req.model}) gave no valid verdict in ${MAX_ASKS} asks: ${problem}`);
    }
    throw new EvaluationError('unreachable');
  }
}
