/**
 * Secrets in the database: set (encrypting), list (names, never values), delete, and
 * resolved for a run. A secret scoped to an environment wins over the organization's of
 * the same name. Values leave this module only for the worker that injects them.
 */
import type { PrismaClient } from '../prisma/client';
import { newId } from '../domain/ids';
import type { NamedSecret } from '../domain/redact';
import type { Keyring } from './keyring';

export const aadOf = (s: { organizationId: string; environmentId: string | null; name: string }) => `${s.organizationId}/${s.environmentId ?? '*'}/${s.name}`;

export interface SecretInfo {
  name: string;
  scope: 'organization' | 'environment';
  environmentId: string | null;
  createdAt: string;
  updatedAt: string;
}

const infoOf = (s: { name: string; environmentId: string | null; createdAt: Date; updatedAt: Date }): SecretInfo => ({
  name: s.name,
  scope: s.environmentId ? 'environment' : 'organization',
  environmentId: s.environmentId,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
});

/** The row of a new secret, sealed: for callers that write it inside a transaction of their own. */
export function sealedSecretRow(keyring: Keyring, input: { organizationId: string; environmentId: string | null; name: string; value: string }) {
  const raw = keyring.encrypt(input.value, aadOf(input));
  return {
    id: newId('sec'),
    organizationId: input.organizationId,
    environmentId: input.environmentId,
    name: input.name,
    keyId: raw.keyId,
    iv: new Uint8Array(raw.iv),
    ciphertext: new Uint8Array(raw.ciphertext),
    tag: new Uint8Array(raw.tag),
  };
}

export async function setSecret(
  prisma: PrismaClient,
  keyring: Keyring,
  input: { organizationId: string; environmentId: string | null; name: string; value: string },
): Promise<{ info: SecretInfo; created: boolean }> {
  const raw = keyring.encrypt(input.value, aadOf(input));
  const bytes = (b: Buffer) => new Uint8Array(b);
  const sealed = { keyId: raw.keyId, iv: bytes(raw.iv), ciphertext: bytes(raw.ciphertext), tag: bytes(raw.tag) };
  const where = { organizationId: input.organizationId, environmentId: input.environmentId, name: input.name };
  for (let attempt = 0; ; attempt++) {
    const existing = await prisma.secret.findFirst({ where, select: { id: true } });
    try {
      const row = existing
        ? await prisma.secret.update({ where: { id: existing.id }, data: sealed })
        : await prisma.secret.create({ data: { id: newId('sec'), ...where, ...sealed } });
      return { info: infoOf(row), created: !existing };
    } catch (err) {
      // Two concurrent first sets: the unique index lets one win; the other updates it.
      if ((err as { code?: string }).code !== 'P2002' || attempt > 0) throw err;
    }
  }
}

export async function listSecrets(prisma: PrismaClient, organizationId: string, environmentId?: string): Promise<SecretInfo[]> {
  const rows = await prisma.secret.findMany({
    where: { organizationId, ...(environmentId ? { environmentId } : {}) },
    orderBy: [{ name: 'asc' }, { environmentId: 'asc' }],
    select: { name: true, environmentId: true, createdAt: true, updatedAt: true },
  });
  return rows.map(infoOf);
}

export async function deleteSecret(prisma: PrismaClient, input: { organizationId: string; environmentId: string | null; name: string }): Promise<boolean> {
  const { count } = await prisma.secret.deleteMany({ where: { organizationId: input.organizationId, environmentId: input.environmentId, name: input.name } });
  return count > 0;
}

/** Which of `names` have no secret for this environment (its own, or the organization's). */
export async function missingSecrets(prisma: PrismaClient, organizationId: string, environmentId: string, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const rows = await prisma.secret.findMany({
    where: { organizationId, name: { in: names }, OR: [{ environmentId }, { environmentId: null }] },
    select: { name: true },
  });
  const have = new Set(rows.map((r) => r.name));
  return names.filter((n) => !have.has(n));
}

/** The values a run needs, decrypted: the environment's own secret wins over the organization's. */
export async function resolveSecrets(
  prisma: PrismaClient,
  keyring: Keyring,
  input: { organizationId: string; environmentId: string; names: string[] },
): Promise<NamedSecret[]> {
  if (input.names.length === 0) return [];
  const rows = await prisma.secret.findMany({
    where: { organizationId: input.organizationId, name: { in: input.names }, OR: [{ environmentId: input.environmentId }, { environmentId: null }] },
  });
  const out: NamedSecret[] = [];
  for (const name of input.names) {
    const row = rows.find((r) => r.name === name && r.environmentId) ?? rows.find((r) => r.name === name);
    if (row) out.push({ name, value: keyring.decrypt(row, aadOf(row)) });
  }
  return out;
}
