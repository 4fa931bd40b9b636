/**
 * The criterion catalogue: every evaluation type of the contract, the fields each one
 * requires, and whether this build can execute it. A type that is accepted but not yet
 * executable is stored and reported as `not_evaluated`, never silently failed.
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

/** Types the evaluator runs today; the rest are accepted and reported as not evaluated. */
export const EXECUTABLE_TYPES: ReadonlySet<EvaluationType> = new Set(['bash_command', 'file_exists']);

export const COMPARISON_METRICS = ['duration_seconds', 'agent_exit_code', 'total_tokens', 'cost_usd'] as const;
export const COMPARISON_OPERATORS = ['lt', 'lte', 'gt', 'gte', 'eq', 'neq'] as const;

const timeoutSeconds = { type: 'integer', minimum: 1, maximum: 3600 } as const;
const sandboxPath = { type: 'string', minLength: 1, maxLength: 4096 } as const;

/** Fields a criterion may carry, by evaluation type (merged into one property set). */
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

/** What each evaluation type needs to be executable. */
export const REQUIRED_FIELDS: Record<EvaluationType, readonly string[]> = {
  comparison: ['metric', 'operator', 'value'],
  file_exists: ['path'],
  file_content_match: ['path', 'pattern'],
  json_schema: ['path', 'schema'],
  bash_command: ['command'],
  python_script: ['script'],
  script_judge: ['script'],
  // The goal's description is the rubric when none is given, as in the reference's task.json.
  llm_judge: [],
};
