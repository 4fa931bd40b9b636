/**
 * Domain errors that no retry can fix. Their class names are stable: Temporal records
 * them as the failure `type`, workflows match on them, and retry policies list them
 * under nonRetryableErrorTypes.
 */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}
/** The sandbox image, or the environment's configuration, cannot be used at all. */
export class EnvironmentConfigError extends Error {
  override readonly name = 'EnvironmentConfigError';
}
/** A run record is missing or in a state that forbids the requested step. */
export class RunStateError extends Error {
  override readonly name = 'RunStateError';
}

/** A criterion cannot be checked as written (not the agent's fault, not the platform's). */
export class EvaluationError extends Error {
  override readonly name = 'EvaluationError';
}

/**
 * The run's sandbox is gone or stopped under it (the Docker engine restarted, the container
 * was killed from outside): no retry of the step can bring back what it held. Infra.
 */
export class SandboxLostError extends Error {
  override readonly name = 'SandboxLostError';
}

export const NON_RETRYABLE_ERRORS = ['SetupError', 'EnvironmentConfigError', 'RunStateError', 'EvaluationError', 'SandboxLostError'] as const;
