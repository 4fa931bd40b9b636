/**
 * Regression alerts: when an iteration's stored comparison shows a significant regression
 * or a new failure cluster, POST a signed summary to the experiment's webhook. One
 * activity attempt is one delivery attempt, recorded whatever happens; Temporal's retry
 * policy (ALERT_RETRY in workflows/alerts.ts) is the backoff. The activity input is the
 * iteration id only: the URL and secret are read here, never carried in a payload.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { PrismaClient } from '../prisma/client';
import type { Keyring } from '../secrets/keyring';
import { alertBody, shouldAlert, type RegressionSource } from '../schedules/regressionSummary';
import { openSecret, recordDelivery } from '../schedules/webhookStore';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from '../schedules/webhookSigning';
import { webhookUrlProblem } from '../schedules/webhookTarget';
import { postWebhook } from '../schedules/webhookPost';

export const ALERT_EVENT = 'iteration.regressed';

export interface AlertDeps {
  prisma: PrismaClient;
  /** Opens webhook secrets; without one, alerts cannot be signed and are not sent. */
  keyring?: Keyring;
  allowPrivateTargets: boolean;
  /** The stored comparison of an iteration with the previous comparable one. */
  regressions: RegressionSource;
  timeoutMs?: number;
}

export type AlertOutcome = { sent: true; deliveryId: string; attempt: number; httpStatus: number } | { sent: false; reason: string };

/** The same for every attempt of one iteration's alert: the receiver's idempotency key. */
export const deliveryIdFor = (iterationId: string) => `dlv_${createHash('sha256').update(`regression/${iterationId}`).digest('hex').slice(0, 24)}`;

/** A receiver that answers one of these may recover: retried. Any other 4xx is its final word. */
const RETRYABLE_STATUS = (s: number) => s >= 500 || s === 408 || s === 425 || s === 429;

export function createAlertActivities(deps: AlertDeps) {
  const { prisma } = deps;
  return {
    async deliverRegressionAlert(input: { iterationId: string }): Promise<AlertOutcome> {
      const it = await prisma.iteration.findUnique({
        where: { id: input.iterationId },
        select: { id: true, number: true, organizationId: true, experiment: { select: { id: true, name: true, webhook: true } } },
      });
      if (!it?.experiment) return { sent: false, reason: 'not an iteration of an experiment' };
      const webhook = it.experiment.webhook;
      if (!webhook) return { sent: false, reason: 'the experiment has no webhook' };
      const summary = await deps.regressions(it.id);
      if (!shouldAlert(summary)) return { sent: false, reason: summary ? 'no significant regression and no new failure cluster' : 'no comparison stored for this iteration' };
      if (!deps.keyring) throw ApplicationFailure.nonRetryable('no secrets keyring configured on this worker: webhook alerts cannot be signed', 'WebhookRejected');

      const attempt = Context.current().info.attempt;
      const deliveryId = deliveryIdFor(it.id);
      const sentAt = new Date();
      const body = alertBody({ deliveryId, sentAt, experiment: { id: it.experiment.id, name: it.experiment.name }, iteration: { id: it.id, number: it.number }, summary });
      const started = Date.now();
      // The operator's policy may have changed since the URL was set: checked again now.
      const problem = webhookUrlProblem(webhook.url, deps.allowPrivateTargets);
      const result = problem
        ? { httpStatus: null, error: `webhook URL ${problem}`, refused: true }
        : await postWebhook({
            url: webhook.url,
            body,
            headers: {
              [SIGNATURE_HEADER]: signBody(openSecret(deps.keyring, webhook), body),
              [TIMESTAMP_HEADER]: String(Math.floor(sentAt.getTime() / 1000)),
              [DELIVERY_HEADER]: deliveryId,
              [EVENT_HEADER]: ALERT_EVENT,
            },
            allowPrivateTargets: deps.allowPrivateTargets,
            timeoutMs: deps.timeoutMs ?? 10_000,
          });
      const delivered = result.httpStatus !== null && result.httpStatus >= 200 && result.httpStatus < 300;
      await recordDelivery(prisma, {
        organizationId: it.organizationId,
        experimentId: it.experiment.id,
        iterationId: it.id,
        deliveryId,
        attempt,
        event: ALERT_EVENT,
        url: webhook.url,
        status: delivered ? 'delivered' : 'failed',
        httpStatus: result.httpStatus,
        error: result.error,
        durationMs: Date.now() - started,
      });
      if (delivered) return { sent: true, deliveryId, attempt, httpStatus: result.httpStatus! };
      const message = `webhook delivery ${deliveryId} attempt ${attempt} failed: ${result.error}`;
      if (result.refused || (result.httpStatus !== null && !RETRYABLE_STATUS(result.httpStatus))) throw ApplicationFailure.nonRetryable(message, 'WebhookRejected');
      throw ApplicationFailure.retryable(message, 'WebhookDeliveryFailed');
    },
  };
}

export type AlertActivities = ReturnType<typeof createAlertActivities>;
