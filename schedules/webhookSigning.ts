/**
 * Signing regression alerts. Each POST carries
 *   X-Simlab-Signature: sha256=<hex HMAC-SHA256 of the raw body under the webhook's secret>
 *   X-Simlab-Timestamp: <unix seconds when this attempt was sent>, also `sentAt` in the body
 *   X-Simlab-Delivery:  <delivery id, the same for every retry of one alert>
 *   X-Simlab-Event:     iteration.regressed
 * A receiver recomputes the HMAC over the bytes it received, compares in constant time,
 * rejects a `sentAt` older than a few minutes (the timestamp is inside the signed body,
 * so it cannot be replaced), and dedupes on the delivery id.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Simlab-Signature';
export const TIMESTAMP_HEADER = 'X-Simlab-Timestamp';
export const DELIVERY_HEADER = 'X-Simlab-Delivery';
export const EVENT_HEADER = 'X-Simlab-Event';

/** `whsec_` + 32 random bytes (base64url): recognisable by secret scanners. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function verifySignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
