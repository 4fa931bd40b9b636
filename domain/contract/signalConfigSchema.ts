/**
 * The signal config's JSON Schema and the vocabularies it names (metrics, built-ins, pattern
 * scopes and measures): part of the contract `simlab spec` prints. The file is YAML; parsing
 * and the semantic checks are in analysis/signalConfig.ts.
 */
export const SIGNAL_TYPES = ['boolean', 'number', 'category'] as const;
export type SignalType = (typeof SIGNAL_TYPES)[number];

/** Run metrics and the type each yields. */
export const METRICS = {
  agent_duration_seconds: 'number',
  run_duration_seconds: 'number',
  input_tokens: 'number',
  output_tokens: 'number',
  total_tokens: 'number',
  cost_usd: 'number',
  agent_turns: 'number',
  tool_calls: 'number',
  agent_exit_code: 'number',
  score: 'number',
  passed: 'boolean',
  timed_out: 'boolean',
  failure_category: 'category',
  stop_reason: 'category',
  status: 'category',
} as const satisfies Record<string, SignalType>;
export type MetricName = keyof typeof METRICS;

export const BUILTINS = ['repeated_failing_commands', 'commands_retried_after_error', 'files_read_before_first_edit', 'docs_pages_fetched'] as const;
export type BuiltinName = (typeof BUILTINS)[number];

export const PATTERN_SCOPES = ['commands', 'outputs', 'messages'] as const;
export type PatternScope = (typeof PATTERN_SCOPES)[number];
export const PATTERN_MEASURES = { count: 'number', first_position: 'number', matched: 'boolean' } as const;
export const CRITERION_MEASURES = { passed: 'boolean', score: 'number' } as const;

const NAME = '^[a-z][a-z0-9_]{0,63}$';

export const SIGNAL_CONFIG_SCHEMA = {
  $id: 'https://simlab.dev/schemas/signal-config.json',
  title: 'Signal config',
  description:
    'YAML. Signals extracted from every run of an experiment (one source each: metric, pattern, builtin, criterion or question), aggregated per iteration; `model` answers rubric questions and, when frictionModel/clusterModel are true, finds friction points and failure clusters (the deterministic analysis always runs and is the fallback).',
  type: 'object',
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    model: { type: 'string', minLength: 1, maxLength: 200 },
    frictionModel: { type: 'boolean', default: false },
    clusterModel: { type: 'boolean', default: false },
    signals: {
      type: 'array',
      maxItems: 100,
      items: {
        type: 'object',
        required: ['name', 'type'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: NAME, description: 'lowercase letters, digits, _' },
          type: { enum: [...SIGNAL_TYPES] },
          description: { type: 'string', maxLength: 1000 },
          metric: { enum: Object.keys(METRICS) },
          pattern: { type: 'string', minLength: 1, maxLength: 500, description: 'a JavaScript regular expression' },
          flags: { type: 'string', pattern: '^[imsu]*$' },
          in: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...PATTERN_SCOPES] }, description: 'default: every scope' },
          builtin: { enum: [...BUILTINS] },
          criterion: { type: 'string', minLength: 1, maxLength: 200, description: "a criterion's name, or 'goal/criterion'" },
          measure: { enum: [...new Set([...Object.keys(PATTERN_MEASURES), ...Object.keys(CRITERION_MEASURES)])] },
          question: { type: 'string', minLength: 1, maxLength: 4000, description: 'asked of the model about the transcript' },
          range: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'number' } },
          categories: { type: 'array', minItems: 2, maxItems: 50, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 100 } },
        },
      },
    },
  },
} as const;

