/** Contract documents as users write them, and the normalized forms simlab stores and runs. */
import type { EvaluationType } from './criteria';

export type ScoringMethod = 'weighted_average' | 'binary' | 'percentage';
export type Category = 'coding' | 'research' | 'documentation' | 'analysis';

export interface CriterionFields {
  command?: string;
  expectedExitCode?: number;
  workingDirectory?: string;
  timeoutSeconds?: number;
  path?: string;
  pattern?: string;
  schema?: Record<string, unknown>;
  script?: string;
  model?: string;
  rubric?: string;
  metric?: string;
  operator?: string;
  value?: number;
}

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

export interface InitFile {
  type: 'zip' | 'git';
  source?: string;
  url?: string;
  ref?: string;
  target?: string;
  secretRef?: string;
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

export interface Criterion extends CriterionFields {
  name: string;
  description?: string;
  evaluationType: EvaluationType;
  weight: number;
  maxScore: number;
}

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
  };
  resources?: { cpus?: number; memoryMb?: number; pids?: number; diskMb?: number };
  network?: { enabled?: boolean };
  secrets?: string[];
}

export interface EnvironmentDefinition {
  name: string;
  description?: string;
  image: string;
  enabled: boolean;
  agent: EnvironmentInput['agent'];
  resources: { cpus: number; memoryMb: number; pids: number; diskMb?: number };
  network: { enabled: boolean };
  secrets: string[];
}
