/**
 * What the analysis asks a model: a rubric question about one run (a boolean, a number in a
 * range, or one of given categories), and the friction points of one run. The answers are
 * checked against the run (positions must be events of its transcript).
 */
import type { AnalysisModel } from './model';
import type { SignalDefinition } from './signalConfig';
import { FRICTION_KINDS, type FrictionPoint, type RunFacts, type SignalValue } from './types';
import { transcriptDigest } from './transcriptText';
import { normalizeSignature } from './signature';

const SYSTEM = [
  "You analyse the transcript of an AI agent's attempt at a task in a sandbox, for the team that builds the product the agent used.",
  'Answer only from the evidence given. Transcript lines start with the event number in brackets.',
].join(' ');

function context(run: RunFacts): string {
  const outcome = `status ${run.status}, score ${run.score ?? 'none'}, passed ${run.passed ?? 'unknown'}${run.failureCategory ? `, failure ${run.failureCategory}: ${run.failureMessage ?? ''}` : ''}`;
  return [`<task>\n${run.taskPrompt}\n</task>`, `<outcome>\n${outcome}\n</outcome>`, `<transcript>\n${transcriptDigest(run)}\n</transcript>`].join('\n\n');
}

export async function answerQuestion(model: AnalysisModel, modelName: string, run: RunFacts, def: SignalDefinition): Promise<SignalValue> {
  if (def.source.kind !== 'question') throw new Error(`signal ${def.name} is not a question`);
  const s = def.source;
  const answer =
    def.type === 'boolean'
      ? { type: 'boolean' }
      : def.type === 'number'
        ? { type: 'number', minimum: s.range![0], maximum: s.range![1] }
        : { type: 'string', enum: s.categories! };
  const res = await model.ask<{ answer: boolean | number | string; reason: string }>({
    model: modelName,
    system: SYSTEM,
    prompt: `${context(run)}\n\n<question>\n${s.question}\n</question>\n\nAnswer with record_answer${def.type === 'number' ? ` (a number from ${s.range![0]} to ${s.range![1]})` : def.type === 'category' ? ` (one of: ${s.categories!.join(', ')})` : ' (true or false)'}.`,
    toolName: 'record_answer',
    toolDescription: 'Record the answer to the question about the transcript.',
    schema: { type: 'object', additionalProperties: false, required: ['answer', 'reason'], properties: { answer, reason: { type: 'string', minLength: 1, maxLength: 2000 } } },
  });
  return res.value.answer;
}

export async function modelFriction(model: AnalysisModel, modelName: string, run: RunFacts): Promise<FrictionPoint[]> {
  const seqs = new Set(run.events.map((e) => e.seq));
  const res = await model.ask<{ points: { kind: FrictionPoint['kind']; description: string; seqs: number[]; error?: string }[] }>({
    model: modelName,
    system: SYSTEM,
    prompt: `${context(run)}\n\nList the friction points: where the agent struggled (errors, retry loops, wrong tools, missing documentation, authentication, environment problems, timeouts, stalls). For each: its kind, a one-sentence description, the event numbers it refers to, and the error text if any. An empty list when there were none.`,
    toolName: 'record_friction_points',
    toolDescription: 'Record the friction points of the transcript.',
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['points'],
      properties: {
        points: {
          type: 'array',
          maxItems: 50,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['kind', 'description', 'seqs'],
            properties: {
              kind: { enum: [...FRICTION_KINDS] },
              description: { type: 'string', minLength: 1, maxLength: 300 },
              seqs: { type: 'array', maxItems: 50, items: { type: 'integer' } },
              error: { type: 'string', maxLength: 1000 },
            },
          },
        },
      },
    },
    check: (v) => {
      const bad = (v as { points: { seqs: number[] }[] }).points.flatMap((p) => p.seqs).filter((s) => !seqs.has(s));
      return bad.length ? `event numbers ${[...new Set(bad)].join(', ')} are not in the transcript` : null;
    },
  });
  return res.value.points.map((p) => ({ kind: p.kind, description: p.description, seqs: p.seqs, signature: normalizeSignature(p.error ?? p.description) }));
}
