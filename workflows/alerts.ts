/**
 * Regression alerts from workflow code. The iteration workflow calls
 * `deliverRegressionAlert` once its results are stored, with ALERT_ACTIVITY_OPTIONS, or
 * runs `regressionAlertWorkflow` as a child (what the tests do).
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { AlertActivities, AlertOutcome } from '../activities/alertActivities';

/**
 * One attempt is one POST (10 s deadline). Backoff 10 s doubling to 10 min, 10 attempts:
 * about 47 minutes in all, so a receiver restarting or briefly down still gets the alert.
 * A refused target or a 4xx (other than 408, 425, 429) is final.
 */
export const ALERT_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '10m', maximumAttempts: 10, nonRetryableErrorTypes: ['WebhookRejected'] },
};

export interface RegressionAlertInput {
  iterationId: string;
  /** Seconds before the first retry (default 10); tests shorten it. */
  firstRetrySeconds?: number;
}

export async function regressionAlertWorkflow(input: RegressionAlertInput): Promise<AlertOutcome | { sent: false; reason: string }> {
  const { deliverRegressionAlert } = proxyActivities<AlertActivities>({
    ...ALERT_ACTIVITY_OPTIONS,
    retry: { ...ALERT_ACTIVITY_OPTIONS.retry, ...(input.firstRetrySeconds ? { initialInterval: `${input.firstRetrySeconds}s` } : {}) },
  });
  try {
    return await deliverRegressionAlert({ iterationId: input.iterationId });
  } catch (err) {
    // Every attempt is recorded; an alert that could not be delivered never fails the caller.
    return { sent: false, reason: ((err as { cause?: Error }).cause ?? (err as Error)).message };
  }
}
