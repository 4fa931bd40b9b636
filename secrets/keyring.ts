/**
 * The keys that encrypt secrets at rest. The current key encrypts; previous keys (during
 * a rotation) still decrypt. A key is 32 bytes, given base64 or hex in SIMLAB_SECRET_KEY
 * (SIMLAB_SECRET_KEYS_PREVIOUS: comma-separated). The embedded default keeps one under the
 * data directory, created once with mode 600.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config';

export interface Keyring {
  currentId: string;
  encrypt(plaintext: string, aad: string): { keyId: string; iv: Buffer; ciphertext: Buffer; tag: Buffer };
  decrypt(sealed: { keyId: string; iv: Uint8Array; ciphertext: Uint8Array; tag: Uint8Array }, aad: string): string;
}

/** A fingerprint of a key (never the key): names which key sealed a secret. */
export const keyIdOf = (key: Buffer) => createHash('sha256').update('simlab-secret-key').update(key).digest('hex').slice(0, 16);

export function parseKey(text: string, what: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new ConfigError([`${what}: must be 32 bytes, given as 64 hex digits or base64`]);
  return key;
}

export function createKeyring(current: Buffer, previous: Buffer[] = []): Keyring {
  const keys = new Map([current, ...previous].map((k) => [keyIdOf(k), k]));
  const currentId = keyIdOf(current);
  return {
    currentId,
    encrypt(plaintext, aad) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return { keyId: currentId, iv, ciphertext, tag: cipher.getAuthTag() };
    },
    decrypt(sealed, aad) {
      const key = keys.get(sealed.keyId);
      if (!key) throw new Error(`secret sealed with key ${sealed.keyId}, which is not configured (SIMLAB_SECRET_KEY / SIMLAB_SECRET_KEYS_PREVIOUS)`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(Buffer.from(sealed.tag));
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext)), decipher.final()]).toString('utf8');
    },
  };
}

/**
 * The configured keyring, or the embedded default's: `<dataDir>/secret.key`, generated on
 * first use (exclusive create, so concurrent processes agree on one key).
 */
export function loadKeyring(env: NodeJS.ProcessEnv, dataDir: string, log: (s: string) => void = console.log): Keyring {
  const previous = (env.SIMLAB_SECRET_KEYS_PREVIOUS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((k, i) => parseKey(k, `SIMLAB_SECRET_KEYS_PREVIOUS[${i}]`));
  if (env.SIMLAB_SECRET_KEY) return createKeyring(parseKey(env.SIMLAB_SECRET_KEY, 'SIMLAB_SECRET_KEY'), previous);
  const file = path.join(dataDir, 'secret.key');
  fs.mkdirSync(dataDir, { recursive: true });
  if (!fs.existsSync(file)) {
    // Written whole under another name, then published with link(), which fails if another
    // process got there first: every process ends up with the same complete key.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
      log(`[secrets] generated the secret-encryption key ${file} (mode 600); set SIMLAB_SECRET_KEY to use your own`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  return createKeyring(parseKey(fs.readFileSync(file, 'utf8'), file), previous);
}
