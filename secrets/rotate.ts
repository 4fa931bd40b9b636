/**
 * `node dist/secrets/rotate.js`: re-encrypts every secret sealed with a previous key
 * under the current one. Run with SIMLAB_SECRET_KEY set to the new key and
 * SIMLAB_SECRET_KEYS_PREVIOUS to the old one(s); afterwards the old keys can be dropped.
 */
import { createPrisma } from '../prisma/client';
import { loadConfig } from '../config';
import { loadKeyring } from './keyring';
import { aadOf } from './store';

async function main() {
  const cfg = loadConfig();
  const keyring = loadKeyring(process.env, cfg.dataDir);
  const prisma = createPrisma(cfg.databaseUrl, { maxConnections: 1 });
  try {
    const stale = await prisma.secret.findMany({ where: { keyId: { not: keyring.currentId } } });
    for (const s of stale) {
      const sealed = keyring.encrypt(keyring.decrypt(s, aadOf(s)), aadOf(s));
      await prisma.secret.update({
        where: { id: s.id },
        data: { keyId: sealed.keyId, iv: new Uint8Array(sealed.iv), ciphertext: new Uint8Array(sealed.ciphertext), tag: new Uint8Array(sealed.tag) },
      });
    }
    console.log(`[secrets] re-encrypted ${stale.length} secret(s) under key ${keyring.currentId}`);
  } finally {
    await prisma.$disconnect();
  }
}

main().catch((err) => {
  console.error('[secrets] rotation failed:', (err as Error).message);
  process.exit(1);
});
