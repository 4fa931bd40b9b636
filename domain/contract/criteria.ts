/**
 * The criterion catalogue: every evaluation type of the contract and the fields each one
 * requires or accepts. One record keyed by type, so the compiler rejects a type without an
 * entry; the criterion union (types.ts), the JSON Schemas and normalization all derive
 * from it. Which types are executable is said by the evaluators (criteria/), not here.
 */
export const EVALUATION_TYPES = [
  'comparison',
  'file_exists',
  'file_content_match',
  'json_schema',
  'bash_command',
  'python_script',
  'script_judge',
  'llm_judge',
] as const;
export type EvaluationType = (typeof EVALUATION_TYPES)[number];

/**
 * Run metrics a comparison can check. `duration_seconds` is the agent's duration (the
 * name the first contract used). A metric a run's harness cannot provide (tokens and cost
 * of a plain command) makes the criterion not_evaluated, never a silent 0.
 */
export const COMPARISON_METRICS = [
  'duration_seconds',
  'agent_duration_seconds',
  'run_duration_seconds',
  'agent_exit_code',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'cost_usd',
  'agent_turns',
  'tool_calls',
] as const;
export type ComparisonMetric = (typeof COMPARISON_METRICS)[number];
export const COMPARISON_OPERATORS = ['lt', 'lte', 'gt', 'gte', 'eq', 'neq'] as const;

const timeoutSeconds = { type: 'integer', minimum: 1, maximum: 3600 } as const;
const sandboxPath = { type: 'string', minLength: 1, maxLength: 4096 } as const;

/** Every field a criterion may carry, with its schema. */
export const criterionFieldSchemas = {
  command: { type: 'string', minLength: 1, maxLength: 65536 },
  expectedExitCode: { type: 'integer', minimum: 0, maximum: 255 },
  workingDirectory: sandboxPath,
  timeoutSeconds,
  path: sandboxPath,
  pattern: { type: 'string', minLength: 1, maxLength: 65536 },
  match: { enum: ['regex', 'literal'] },
  flags: { type: 'string', pattern: '^[imsu]{0,4}$' },
  negate: { type: 'boolean' },
  schema: { type: 'object' },
  script: { type: 'string', minLength: 1, maxLength: 262144 },
  model: { type: 'string', minLength: 1, maxLength: 200 },
  rubric: { type: 'string', minLength: 1, maxLength: 65536 },
  files: { type: 'array', maxItems: 10, items: sandboxPath },
  metric: { enum: [...COMPARISON_METRICS] },
  operator: { enum: [...COMPARISON_OPERATORS] },
  value: { type: 'number' },
} as const;
export type CriterionFieldName = keyof typeof criterionFieldSchemas;

/** The TypeScript type of each field, as validated by its schema above. */
export interface CriterionFieldTypes {
  command: string;
  expectedExitCode: number;
  workingDirectory: string;
  timeoutSeconds: number;
  path: string;
  pattern: string;
  match: 'regex' | 'literal';
  flags: string;
  negate: boolean;
  schema: Record<string, unknown>;
  script: string;
  model: string;
  rubric: string;
  files: string[];
  metric: ComparisonMetric;
  operator: (typeof COMPARISON_OPERATORS)[number];
  value: number;
}

interface FieldSpec {
  required: readonly CriterionFieldName[];
  optional: readonly CriterionFieldName[];
}

/** What each evaluation type needs, and what else it accepts; any other field is refused. */
export const CRITERION_FIELDS = {
  comparison: { required: ['metric', 'operator', 'value'], optional: [] },
  file_exists: { required: ['path'], optional: ['timeoutSeconds'] },
  file_content_match: { required: ['path', 'pattern'], optional: ['match', 'flags', 'negate', 'timeoutSeconds'] },
  json_schema: { required: ['path', 'schema'], optional: ['timeoutSeconds'] },
  bash_command: { required: ['command'], optional: ['expectedExitCode', 'workingDirectory', 'timeoutSeconds'] },
  python_script: { required: ['script'], optional: ['timeoutSeconds'] },
  script_judge: { required: ['script'], optional: ['timeoutSeconds'] },
  // The goal's description is the rubric when none is given, as in the reference's task.json.
  llm_judge: { required: [], optional: ['model', 'rubric', 'files'] },
} as const satisfies Record<EvaluationType, FieldSpec>;

export function fieldsOf(type: EvaluationType): readonly CriterionFieldName[] {
  const spec: FieldSpec = CRITERION_FIELDS[type];
  return [...spec.required, ...spec.optional];
}
