/** Contract documents as users write them, and the normalized forms simlab stores and runs. */
import type { CRITERION_FIELDS, CriterionFieldTypes, EvaluationType } from './criteria';

export type ScoringMethod = 'weighted_average' | 'binary' | 'percentage';
export type Category = 'coding' | 'research' | 'documentation' | 'analysis';

/** Any criterion field, as a user may write it before validation narrows it to one type. */
export type CriterionFields = Partial<CriterionFieldTypes>;

export interface CriterionInput extends CriterionFields {
  name?: string;
  description?: string;
  evaluationType: EvaluationType;
  weight?: number;
  maxScore?: number;
}

export interface GoalInput extends CriterionFields {
  name: string;
  description?: string;
  passingThreshold?: number;
  scoringMethod?: ScoringMethod;
  evaluationType?: EvaluationType;
  weight?: number;
  maxScore?: number;
  criteria?: CriterionInput[];
}

/** How a task's zip init file names an upload: `upload:<id>`. */
export const UPLOAD_PREFIX = 'upload:';

export interface InitFile {
  type: 'zip' | 'git';
  source?: string;
  url?: string;
  ref?: string;
  target?: string;
  secretRef?: string;
  /** A zip upload's content hash, pinned when the task is written. */
  sha256?: string;
}

export interface InitCommand {
  command: string;
  workingDirectory?: string;
  timeoutSeconds?: number;
}

export interface TaskInput {
  name: string;
  description?: string;
  category: Category;
  prompt: string;
  goals: GoalInput[];
  initFiles?: InitFile[];
  initCommands?: InitCommand[];
  secrets?: string[];
  timeoutMinutes?: number;
}

interface CriterionBase {
  name: string;
  description?: string;
  weight: number;
  maxScore: number;
}

type Spec<T extends EvaluationType> = (typeof CRITERION_FIELDS)[T];

/** A stored criterion of one type: exactly the fields CRITERION_FIELDS gives that type. */
export type CriterionOf<T extends EvaluationType> = CriterionBase & { evaluationType: T } & {
  [K in Spec<T>['required'][number]]: CriterionFieldTypes[K];
} & { [K in Spec<T>['optional'][number]]?: CriterionFieldTypes[K] };

/** A criterion as stored and run: a union discriminated on `evaluationType`. */
export type Criterion = { [T in EvaluationType]: CriterionOf<T> }[EvaluationType];

export interface Goal {
  name: string;
  description?: string;
  passingThreshold: number;
  scoringMethod: ScoringMethod;
  criteria: Criterion[];
}

/** A task as stored and frozen into run snapshots: every default made explicit. */
export interface TaskDefinition {
  name: string;
  description?: string;
  category: Category;
  prompt: string;
  goals: Goal[];
  initFiles: InitFile[];
  initCommands: Required<Pick<InitCommand, 'command' | 'workingDirectory' | 'timeoutSeconds'>>[];
  secrets: string[];
  timeoutMinutes: number;
}

export type Harness = 'command' | 'claude' | 'external';

export interface EnvironmentInput {
  name: string;
  description?: string;
  image?: string;
  enabled?: boolean;
  agent: {
    harness: Harness;
    command?: string;
    model?: string;
    maxTurns?: number;
    systemPrompt?: string;
    timeoutMinutes?: number;
    env?: Record<string, string>;
    /** command harness: how to read its output beyond plain text. */
    outputFormat?: 'text' | 'claude-code-stream-json';
    /** claude harness */
    maxTokens?: number;
    thinkingBudgetTokens?: number;
    costCapUsd?: number;
    temperature?: number;
    bashTimeoutSeconds?: number;
    /** external harness: cancelled after this long without a client request. */
    idleTimeoutSeconds?: number;
  };
  resources?: { cpus?: number; memoryMb?: number; pids?: number; diskMb?: number };
  network?: { enabled?: boolean; allow?: string[] };
  secrets?: string[];
}

export interface EnvironmentDefinition {
  name: string;
  description?: string;
  image: string;
  enabled: boolean;
  agent: EnvironmentInput['agent'];
  resources: { cpus: number; memoryMb: number; pids: number; diskMb?: number };
  /** `allow` absent: any public destination; present: only those (see domain/egressPattern.ts). */
  network: { enabled: boolean; allow?: string[] };
  secrets: string[];
}
