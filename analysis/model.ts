/**
 * The model behind the analysis: structured answers by a forced tool call through the real
 * @anthropic-ai/sdk, validated against a JSON Schema (plus a semantic check), re-asked with
 * what was wrong up to 3 times, API errors retried with backoff by the SDK (honouring
 * retry-after), as llm_judge does. A model that cannot answer throws AnalysisModelError:
 * the caller falls back to the deterministic analysis and reports it.
 */
import Anthropic from '@anthropic-ai/sdk';
import Ajv from 'ajv';

/** Bumped whenever a prompt of analysis/ changes, so stored analyses say which produced them. */
export const ANALYSIS_PROMPT_VERSION = 'simlab-analysis-1';
const MAX_ASKS = 3;

export class AnalysisModelError extends Error {
  override name = 'AnalysisModelError';
}

export interface StructuredRequest {
  model: string;
  system: string;
  prompt: string;
  toolName: string;
  toolDescription: string;
  schema: Record<string, unknown>;
  /** What is wrong with a schema-valid answer (ids that do not exist, …), or null. */
  check?: (value: unknown) => string | null;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface StructuredAnswer<T> {
  value: T;
  model: string;
  asks: number;
  usage: { inputTokens: number; outputTokens: number };
}

export interface AnalysisModel {
  ask<T>(req: StructuredRequest): Promise<StructuredAnswer<T>>;
}

const ajv = new Ajv({ allErrors: true, strict: false });

export class AnthropicAnalysisModel implements AnalysisModel {
  private readonly client: Anthropic;

  constructor(opts: { apiKey: string; baseURL?: string; maxRetries?: number }) {
    this.client = new Anthropic({ apiKey: opts.apiKey, ...(opts.baseURL ? { baseURL: opts.baseURL } : {}), maxRetries: opts.maxRetries ?? 4 });
  }

  async ask<T>(req: StructuredRequest): Promise<StructuredAnswer<T>> {
    const validate = ajv.compile(req.schema);
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: req.prompt }];
    const usage = { inputTokens: 0, outputTokens: 0 };
    let problem = '';
    for (let ask = 1; ask <= MAX_ASKS; ask++) {
      let res: Anthropic.Message;
      try {
        res = await this.client.messages.create(
          {
            model: req.model,
            max_tokens: req.maxTokens ?? 2048,
            system: req.system,
            tools: [{ name: req.toolName, description: req.toolDescription, input_schema: req.schema as Anthropic.Tool.InputSchema }],
            tool_choice: { type: 'tool', name: req.toolName },
            messages,
          },
          req.signal ? { signal: req.signal } : {},
        );
      } catch (err) {
        if (err instanceof Anthropic.APIUserAbortError) throw err;
        const status = (err as { status?: number }).status;
        throw new AnalysisModelError(`the analysis model (${req.model}) did not answer${status ? ` (HTTP ${status})` : ''} after its retries: ${(err as Error).message}`);
      }
      usage.inputTokens += res.usage?.input_tokens ?? 0;
      usage.outputTokens += res.usage?.output_tokens ?? 0;
      const call = res.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use' && b.name === req.toolName);
      problem = !call
        ? `no ${req.toolName} call in the answer`
        : !validate(call.input)
          ? (validate.errors ?? []).map((e) => `${e.instancePath || '(input)'} ${e.message}`).join('; ')
          : (req.check?.(call.input) ?? '');
      if (call && !problem) return { value: call.input as T, model: res.model ?? req.model, asks: ask, usage };
      messages.push({ role: 'assistant', content: res.content });
      messages.push({
        role: 'user',
        content: call
          ? [{ type: 'tool_result', tool_use_id: call.id, is_error: true, content: `Invalid answer: ${problem}. Call ${req.toolName} again with a valid answer.` }]
          : `Your answer did not call ${req.toolName}. Call ${req.toolName} with your answer.`,
      });
    }
    throw new AnalysisModelError(`the analysis model (${req.model}) gave no valid answer in ${MAX_ASKS} asks: ${problem}`);
  }
}
