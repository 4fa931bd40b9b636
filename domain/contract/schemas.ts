/**
 * JSON Schemas of the public contract (`simlab spec` prints them). The reference's own
 * task.json and simulation.json validate unchanged: a goal that carries `evaluationType`
 * itself is the short form of a goal with one criterion.
 */
import { CRITERION_FIELDS, EVALUATION_TYPES, criterionFieldSchemas, fieldsOf, type CriterionFieldName } from './criteria';
import { SIGNAL_CONFIG_SCHEMA } from './signalConfigSchema';
import { EGRESS_PATTERN_SOURCE } from '../egressPattern';

const SCHEMA_BASE = 'https://simlab.dev/schemas';

/** Any non-blank text: the pattern rejects empty and whitespace-only names in one message. */
const name = { type: 'string', maxLength: 200, pattern: '\\S' } as const;
const description = { type: 'string', maxLength: 20000 } as const;
const secretName = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' } as const;
const idList = (maxItems: number) => ({ type: 'array', maxItems, uniqueItems: true, items: { type: 'string', minLength: 1 } }) as const;

const ALL_FIELDS = Object.keys(criterionFieldSchemas) as CriterionFieldName[];
const refuse = (fields: CriterionFieldName[]) => Object.fromEntries(fields.map((f) => [f, false]));

/**
 * One `if evaluationType == X then ...` per type: the fields X requires, and a refusal of
 * every field X does not use, so that a misplaced field is an error rather than ignored.
 */
const fieldsByType = EVALUATION_TYPES.map((t) => {
  const own = new Set(fieldsOf(t));
  return {
    if: { properties: { evaluationType: { const: t } }, required: ['evaluationType'] },
    then: { required: [...CRITERION_FIELDS[t].required], properties: refuse(ALL_FIELDS.filter((f) => !own.has(f))) },
  };
});

const criterionCommon = {
  evaluationType: { enum: [...EVALUATION_TYPES] },
  weight: { type: 'number', exclusiveMinimum: 0, maximum: 1000 },
  maxScore: { type: 'number', exclusiveMinimum: 0, maximum: 1000 },
  ...criterionFieldSchemas,
} as const;

const scoring = {
  passingThreshold: { type: 'number', minimum: 0, maximum: 100 },
  scoringMethod: { enum: ['weighted_average', 'binary', 'percentage'] },
} as const;

export const criterionSchema = {
  $id: `${SCHEMA_BASE}/criterion.json`,
  type: 'object',
  required: ['evaluationType'],
  additionalProperties: false,
  properties: { name, description, ...criterionCommon },
  allOf: fieldsByType,
} as const;

export const goalSchema = {
  $id: `${SCHEMA_BASE}/goal.json`,
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name,
    description,
    ...scoring,
    ...criterionCommon,
    criteria: { type: 'array', minItems: 1, maxItems: 100, items: { $ref: 'criterion.json' } },
  },
  // Exactly one of the two forms: a list of criteria, or the criterion fields inline.
  oneOf: [
    { required: ['criteria'], not: { required: ['evaluationType'] } },
    { required: ['evaluationType'], not: { required: ['criteria'] } },
  ],
  allOf: [
    ...fieldsByType,
    // The long form keeps its criterion fields in its criteria.
    { if: { required: ['criteria'] }, then: { properties: refuse(ALL_FIELDS) } },
  ],
} as const;

export const taskSchema = {
  $id: `${SCHEMA_BASE}/task.json`,
  title: 'Task',
  description: 'What the agent is asked to do, and how the attempt is scored.',
  type: 'object',
  required: ['name', 'category', 'prompt', 'goals'],
  additionalProperties: false,
  properties: {
    name,
    description,
    category: { enum: ['coding', 'research', 'documentation', 'analysis'] },
    prompt: { type: 'string', minLength: 1, maxLength: 200000 },
    goals: { type: 'array', minItems: 1, maxItems: 50, items: { $ref: 'goal.json' } },
    initFiles: {
      type: 'array',
      maxItems: 20,
      items: {
        type: 'object',
        required: ['type'],
        additionalProperties: false,
        properties: {
          type: { enum: ['zip', 'git'] },
          source: { type: 'string', minLength: 1, maxLength: 4096 },
          url: { type: 'string', minLength: 1, maxLength: 4096 },
          ref: { type: 'string', minLength: 1, maxLength: 255 },
          target: { type: 'string', minLength: 1, maxLength: 4096 },
          secretRef: secretName,
          // Set by simlab from the upload a zip's source names: what a run froze is that content.
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        },
        allOf: [
          { if: { properties: { type: { const: 'git' } } }, then: { required: ['url'] } },
          { if: { properties: { type: { const: 'zip' } } }, then: { required: ['source'] } },
        ],
      },
    },
    initCommands: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        required: ['command'],
        additionalProperties: false,
        properties: {
          command: { type: 'string', minLength: 1, maxLength: 65536 },
          workingDirectory: { type: 'string', minLength: 1, maxLength: 4096 },
          timeoutSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
        },
      },
    },
    secrets: { type: 'array', maxItems: 50, uniqueItems: true, items: secretName },
    timeoutMinutes: { type: 'number', exclusiveMinimum: 0, maximum: 70 },
  },
} as const;

export const environmentSchema = {
  $id: `${SCHEMA_BASE}/environment.json`,
  title: 'Environment',
  description: 'Where and with which agent a task runs: harness, image, configuration, resources.',
  type: 'object',
  required: ['name', 'agent'],
  additionalProperties: false,
  properties: {
    name,
    description,
    image: { type: 'string', minLength: 1, maxLength: 512, default: 'simlab/sandbox:bookworm' },
    enabled: { type: 'boolean', default: true },
    agent: {
      type: 'object',
      required: ['harness'],
      additionalProperties: false,
      properties: {
        harness: { enum: ['command', 'claude', 'external'] },
        // command harness: a shell command run in the sandbox; the instruction is in $SIMLAB_PROMPT
        // and in the file $SIMLAB_PROMPT_FILE.
        command: { type: 'string', minLength: 1, maxLength: 65536 },
        model: { type: 'string', minLength: 1, maxLength: 200 },
        maxTurns: { type: 'integer', minimum: 1, maximum: 1000 },
        systemPrompt: { type: 'string', maxLength: 200000 },
        timeoutMinutes: { type: 'number', exclusiveMinimum: 0, maximum: 70 },
        outputFormat: { enum: ['text', 'claude-code-stream-json'] },
        maxTokens: { type: 'integer', minimum: 1, maximum: 128000 },
        thinkingBudgetTokens: { type: 'integer', minimum: 1024, maximum: 128000 },
        costCapUsd: { type: 'number', exclusiveMinimum: 0, maximum: 10000 },
        temperature: { type: 'number', minimum: 0, maximum: 1 },
        bashTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
        // external harness: a run no client request reaches for this long is cancelled.
        idleTimeoutSeconds: { type: 'integer', minimum: 5, maximum: 86400 },
        env: {
          type: 'object',
          maxProperties: 100,
          propertyNames: secretName,
          additionalProperties: { type: 'string', maxLength: 65536 },
        },
      },
      allOf: [
        { if: { properties: { harness: { const: 'command' } } }, then: { required: ['command'] } },
        { if: { properties: { harness: { const: 'claude' } } }, then: { required: ['model'] } },
      ],
    },
    resources: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cpus: { type: 'number', minimum: 0.1, maximum: 64 },
        memoryMb: { type: 'integer', minimum: 64, maximum: 262144 },
        pids: { type: 'integer', minimum: 16, maximum: 65536 },
        diskMb: { type: 'integer', minimum: 64, maximum: 1048576 },
      },
    },
    network: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        // Without a list, any public destination; with one, only those (through simlab's proxy).
        allow: { type: 'array', minItems: 1, maxItems: 200, uniqueItems: true, items: { type: 'string', maxLength: 253, pattern: EGRESS_PATTERN_SOURCE } },
      },
      // A list needs the network on: refused rather than silently unused.
      if: { required: ['allow'] },
      then: { required: ['enabled'], properties: { enabled: { const: true } } },
    },
    secrets: { type: 'array', maxItems: 50, uniqueItems: true, items: secretName },
  },
} as const;

export const experimentSchema = {
  $id: `${SCHEMA_BASE}/experiment.json`,
  title: 'Experiment',
  description: 'A controlled comparison: tasks x environments, run as numbered immutable iterations.',
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name,
    description,
    taskIds: idList(1000),
    environmentIds: idList(100),
    repeats: { type: 'integer', minimum: 1, maximum: 100, default: 1 },
    signalConfig: { type: 'string', maxLength: 262144, description: 'the YAML text of a signal config (see signalConfig)' },
    schedule: {
      type: 'object',
      additionalProperties: false,
      required: ['cron'],
      properties: { cron: { type: 'string', minLength: 9, maxLength: 200 }, timezone: { type: 'string' } },
    },
  },
} as const;

export const simulationSchema = {
  $id: `${SCHEMA_BASE}/simulation.json`,
  title: 'Simulation',
  description: 'A task and the environments it is attached to, created in one step.',
  type: 'object',
  required: ['task'],
  additionalProperties: false,
  properties: {
    product: { type: 'string', minLength: 1, maxLength: 100 },
    environmentIds: idList(100),
    task: { $ref: 'task.json' },
    secrets: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: { name: secretName, valueFromEnv: secretName },
      },
    },
  },
} as const;

export const CONTRACT = {
  task: taskSchema,
  goal: goalSchema,
  criterion: criterionSchema,
  environment: environmentSchema,
  experiment: experimentSchema,
  simulation: simulationSchema,
  signalConfig: SIGNAL_CONFIG_SCHEMA,
} as const;
export type ContractKind = 'task' | 'environment' | 'experiment' | 'simulation';
