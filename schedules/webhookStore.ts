/**
 * Experiments' webhooks in the database: the URL, the signing secret sealed with the
 * secrets keyring (the API encrypts, only the alert activity decrypts), and every
 * delivery attempt.
 */
import type { PrismaClient } from '../prisma/client';
import type { ExperimentWebhook, WebhookDelivery } from '../prisma/generated/client';
import { newId } from '../domain/ids';
import type { Keyring } from '../secrets/keyring';
import { generateWebhookSecret } from './webhookSigning';

const aadOf = (w: { organizationId: string; experimentId: string }) => `webhook/${w.organizationId}/${w.experimentId}`;

export function webhookView(w: ExperimentWebhook) {
  return { experimentId: w.experimentId, url: w.url, createdAt: w.createdAt.toISOString(), updatedAt: w.updatedAt.toISOString() };
}

/**
 * Sets the URL. A new webhook, or `rotateSecret`, gets a new secret, returned here and
 * never again; otherwise the secret is kept and null is returned for it.
 */
export async function setWebhook(
  prisma: PrismaClient,
  keyring: Keyring,
  input: { organizationId: string; experimentId: string; url: string; rotateSecret: boolean },
): Promise<{ webhook: ExperimentWebhook; secret: string | null; created: boolean }> {
  const existing = await prisma.experimentWebhook.findUnique({ where: { experimentId: input.experimentId } });
  const secret = !existing || input.rotateSecret ? generateWebhookSecret() : null;
  const sealed = secret ? sealSecret(keyring, input, secret) : null;
  const webhook = sealed
    ? await prisma.experimentWebhook.upsert({
        where: { experimentId: input.experimentId },
        create: { experimentId: input.experimentId, organizationId: input.organizationId, url: input.url, ...sealed },
        update: { url: input.url, ...sealed },
      })
    : await prisma.experimentWebhook.update({ where: { experimentId: input.experimentId }, data: { url: input.url } });
  return { webhook, secret, created: !existing };
}

function sealSecret(keyring: Keyring, w: { organizationId: string; experimentId: string }, secret: string) {
  const raw = keyring.encrypt(secret, aadOf(w));
  return { keyId: raw.keyId, iv: new Uint8Array(raw.iv), ciphertext: new Uint8Array(raw.ciphertext), tag: new Uint8Array(raw.tag) };
}

export function openSecret(keyring: Keyring, w: ExperimentWebhook): string {
  return keyring.decrypt(w, aadOf(w));
}

export async function recordDelivery(
  prisma: PrismaClient,
  d: Omit<WebhookDelivery, 'id' | 'createdAt'>,
): Promise<void> {
  // A retried activity attempt has its own number; one already recorded (the worker died
  // after writing it) is not written twice.
  await prisma.webhookDelivery.createMany({ data: [{ id: newId('whd'), ...d }], skipDuplicates: true });
}

export function deliveryView(d: WebhookDelivery) {
  return {
    id: d.id,
    deliveryId: d.deliveryId,
    iterationId: d.iterationId,
    event: d.event,
    attempt: d.attempt,
    url: d.url,
    status: d.status,
    httpStatus: d.httpStatus,
    error: d.error,
    durationMs: d.durationMs,
    createdAt: d.createdAt.toISOString(),
  };
}
