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

export const COMPARISON_METRICS = ['duration_seconds', 'agent_exit_code', 'total_tokens', 'cost_usd'] as const;
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
  schema: { type: 'object' },
  script: { type: 'string', minLength: 1, maxLength: 262144 },
  model: { type: 'string', minLength: 1, maxLength: 200 },
  rubric: { type: 'string', minLength: 1, maxLength: 65536 },
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
  schema: Record<string, unknown>;
  script: string;
  model: string;
  rubric: string;
  metric: (typeof COMPARISON_METRICS)[number];
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
  file_content_match: { required: ['path', 'pattern'], optional: ['timeoutSeconds'] },
  json_schema: { required: ['path', 'schema'], optional: ['timeoutSeconds'] },
  bash_command: { required: ['command'], optional: ['expectedExitCode', 'workingDirectory', 'timeoutSeconds'] },
  python_script: { required: ['script'], optional: ['timeoutSeconds'] },
  script_judge: { required: ['script'], optional: ['timeoutSeconds'] },
  // The goal's description is the rubric when none is given, as in the reference's task.json.
  llm_judge: { required: [], optional: ['model', 'rubric'] },
} as const satisfies Record<EvaluationType, FieldSpec>;

export function fieldsOf(type: EvaluationType): readonly CriterionFieldName[] {
  const spec: FieldSpec = CRITERION_FIELDS[type];
  return [...spec.required, ...spec.optional];
}
