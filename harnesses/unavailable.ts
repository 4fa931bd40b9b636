/** A harness the contract names but this build does not ship yet: refused before any sandbox exists. */
import type { Harness } from '../domain/contract';
import { EnvironmentConfigError } from '../domain/errors';
import type { AgentHarness } from './types';

export function notYetAvailable(name: Harness): AgentHarness {
  const why = `agent harness '${name}' is not available in this build yet`;
  return {
    unavailable: () => why,
    async run() {
      throw new EnvironmentConfigError(why);
    },
  };
}
