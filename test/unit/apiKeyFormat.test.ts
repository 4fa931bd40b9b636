import { displayPrefix, generateApiKey, isWellFormedApiKey, KEY_PREFIX } from '../../domain/apiKeyFormat';

describe('API key format', () => {
  it('has a typed prefix and a checksum that catches any single-character change', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^slk_[0-9A-Za-z]{36}$/);
    expect(isWellFormedApiKey(key)).toBe(true);
    const body = key.slice(KEY_PREFIX.length);
    for (let i = 0; i < body.length; i++) {
      const c = body[i] === 'a' ? 'b' : 'a';
      expect(isWellFormedApiKey(`${KEY_PREFIX}${body.slice(0, i)}${c}${body.slice(i + 1)}`)).toBe(false);
    }
    expect(new Set(Array.from({ length: 200 }, generateApiKey)).size).toBe(200);
    expect(displayPrefix(key)).toBe(key.slice(0, 10));
  });

  it('still accepts keys of the first format, and refuses anything else', () => {
    expect(isWellFormedApiKey('sk_' + 'A'.repeat(32))).toBe(true);
    for (const bad of ['', 'slk_', 'Bearer x', 'slk_' + 'A'.repeat(36), 'xx_' + 'A'.repeat(40)]) expect(isWellFormedApiKey(bad)).toBe(false);
  });
});
