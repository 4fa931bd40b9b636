import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createKeyring, loadKeyring } from '../../secrets/keyring';
import { Redactor } from '../../domain/redact';

describe('secret encryption', () => {
  it('seals with AES-256-GCM bound to its scope, and opens with a previous key during rotation', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const old = createKeyring(oldKey);
    const sealed = old.encrypt('hunter2-value', 'org/*/TOKEN');
    expect(sealed.ciphertext.toString('utf8')).not.toContain('hunter2');
    expect(old.decrypt(sealed, 'org/*/TOKEN')).toBe('hunter2-value');
    // Bound to its row: moved to another name or scope, it does not open.
    expect(() => old.decrypt(sealed, 'org/*/OTHER')).toThrow();
    const rotated = createKeyring(newKey, [oldKey]);
    expect(rotated.decrypt(sealed, 'org/*/TOKEN')).toBe('hunter2-value');
    expect(rotated.encrypt('x-value', 'a').keyId).toBe(rotated.currentId);
    expect(() => createKeyring(newKey).decrypt(sealed, 'org/*/TOKEN')).toThrow(/not configured/);
  });

  it('generates the embedded default key once, mode 600, and says so once', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-key-'));
    const said: string[] = [];
    const a = loadKeyring({}, dir, (s) => said.push(s));
    const b = loadKeyring({}, dir, (s) => said.push(s));
    expect(a.currentId).toBe(b.currentId);
    expect(said).toHaveLength(1);
    expect(fs.statSync(path.join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['secret.key']);
    expect(() => loadKeyring({ SIMLAB_SECRET_KEY: 'too-short' }, dir)).toThrow(/SIMLAB_SECRET_KEY: must be 32 bytes/);
  });
});

describe('redaction', () => {
  const value = 'tok en/+=?&secret';
  const r = new Redactor([{ name: 'TOKEN', value }]);

  it('replaces the value and its base64, base64url and URL-encoded forms', () => {
    const forms = [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('base64url'), encodeURIComponent(value)];
    const text = forms.map((f, i) => `${i}:${f}`).join('\n');
    expect(r.redact(text)).toBe(['0:[secret:TOKEN]', '1:[secret:TOKEN]', '2:[secret:TOKEN]', '3:[secret:TOKEN]'].join('\n'));
    expect(r.redactDeep({ a: [`x ${value}`], n: 1 })).toEqual({ a: ['x [secret:TOKEN]'], n: 1 });
  });

  it('also replaces the value as a JSON string shows it (quotes and backslashes escaped)', () => {
    const tricky = new Redactor([{ name: 'Q', value: 'pa"ss\\word' }]);
    expect(tricky.redact(JSON.stringify({ out: 'the key is pa"ss\\word' }))).toBe('{"out":"the key is [secret:Q]"}');
  });

  it('masks bytes without changing their length, for archives', () => {
    const b = Buffer.from(`head ${value} tail`);
    const masked = r.maskBuffer(b);
    expect(masked.length).toBe(b.length);
    expect(masked.toString()).toBe(`head ${'[secret:TOKEN]'.padEnd(value.length, '*')} tail`);
  });
});
