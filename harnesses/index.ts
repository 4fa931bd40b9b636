/**
 * Every agent harness of the contract. A `Record` over the harness names, so a harness
 * without a module does not compile; `harnessFor` is the one place that decides whether
 * an environment can run, used when a run is prepared and again by the agent step.
 */
import type { EnvironmentDefinition } from '../domain/contract';
import { EnvironmentConfigError } from '../domain/errors';
import { commandHarness } from './command';
import { claudeHarness } from './claude';
import { externalHarness } from './external';
import type { AgentHarness, HarnessRegistry } from './types';

export const HARNESSES: HarnessRegistry = {
  command: commandHarness,
  claude: claudeHarness,
  external: externalHarness,
};

export function harnessFor(env: EnvironmentDefinition): AgentHarness {
  const harness = HARNESSES[env.agent.harness];
  const why = harness.unavailable(env);
  if (why) throw new EnvironmentConfigError(why);
  return harness;
}

export type { AgentHarness, AgentResult, HarnessContext } from './types';
