/**
 * The secrets of one run, as the steps that run in its sandbox use them: environment
 * variables for init commands, the agent and the criteria, and the redactor every stored
 * output of the run passes through. Loaded by the worker from the database by name:
 * values never travel through Temporal.
 */
import type { PrismaClient } from '../prisma/client';
import { Redactor } from '../domain/redact';
import type { RunRecord } from '../store/runs';
import type { Keyring } from './keyring';
import { resolveSecrets } from './store';

export interface RunSecrets {
  /** The secrets the task and environment list: environment variables in the sandbox. */
  env: Record<string, string>;
  /** Credentials of git init files: used on the worker only, never put in the sandbox. */
  gitTokens: Record<string, string>;
  redactor: Redactor;
}

export const NO_SECRETS: RunSecrets = { env: {}, gitTokens: {}, redactor: new Redactor([]) };

const injectedNamesOf = (run: Pick<RunRecord, 'task' | 'environment'>) => new Set([...(run.task.secrets ?? []), ...(run.environment.secrets ?? [])]);

/** Every secret a run needs: the task's, the environment's, and those git init files authenticate with. */
export const secretNamesOf = (run: Pick<RunRecord, 'task' | 'environment'>) => [
  ...new Set([
    ...(run.task.secrets ?? []),
    ...(run.environment.secrets ?? []),
    ...(run.task.initFiles ?? []).flatMap((f) => (f.secretRef ? [f.secretRef] : [])),
  ]),
];

export async function loadRunSecrets(prisma: PrismaClient, keyring: Keyring | undefined, run: RunRecord): Promise<RunSecrets> {
  const names = secretNamesOf(run);
  if (names.length === 0 || !keyring) return NO_SECRETS;
  const secrets = await resolveSecrets(prisma, keyring, { organizationId: run.organizationId, environmentId: run.environmentId, names });
  const injected = injectedNamesOf(run);
  const gitOnly = new Set((run.task.initFiles ?? []).flatMap((f) => (f.secretRef ? [f.secretRef] : [])));
  return {
    env: Object.fromEntries(secrets.filter((s) => injected.has(s.name)).map((s) => [s.name, s.value])),
    gitTokens: Object.fromEntries(secrets.filter((s) => gitOnly.has(s.name)).map((s) => [s.name, s.value])),
    redactor: new Redactor(secrets),
  };
}
