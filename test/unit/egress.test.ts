/** The egress policy's pure parts: allow-list grammar and matching, refused destinations, the proxy's decision. */
import { egressAllowed, parseEgressRule } from '../../domain/egressPattern';
import { destinationPolicy, normalize } from '../../egress/destinations';
import { EgressProxy } from '../../egress/proxy';
import { validateDocument } from '../../domain/contract/validate';

const rules = (...entries: string[]) => entries.map(parseEgressRule);

describe('allow-list entries', () => {
  it('parses names, wildcards, IPv4 literals and ports', () => {
    expect(parseEgressRule('API.anthropic.com')).toEqual({ host: 'api.anthropic.com', port: null });
    expect(parseEgressRule('*.npmjs.org:443')).toEqual({ host: '*.npmjs.org', port: 443 });
    expect(parseEgressRule('198.51.100.2:8080')).toEqual({ host: '198.51.100.2', port: 8080 });
    expect(parseEgressRule('*')).toEqual({ host: '*', port: null });
  });

  it.each(['', 'http://x.com', 'x.com:0', 'x.com:65536', 'a..b', '-a.com', 'x.*.com', '*.', 'x.com/', 'x com', '[::1]:443', 'x.com:'])('refuses %j', (bad) => {
    expect(() => parseEgressRule(bad)).toThrow(/must be a host name/);
  });

  it('matches by name, subdomain wildcard and port', () => {
    const r = rules('api.anthropic.com', '*.npmjs.org:443', '198.51.100.2:8080');
    expect(egressAllowed(r, 'api.anthropic.com', 443)).toBe(true);
    expect(egressAllowed(r, 'API.Anthropic.com.', 80)).toBe(true);
    expect(egressAllowed(r, 'evil-api.anthropic.com', 443)).toBe(false);
    expect(egressAllowed(r, 'registry.npmjs.org', 443)).toBe(true);
    expect(egressAllowed(r, 'a.b.npmjs.org', 443)).toBe(true);
    expect(egressAllowed(r, 'registry.npmjs.org', 80)).toBe(false);
    expect(egressAllowed(r, 'npmjs.org', 443)).toBe(false);
    expect(egressAllowed(r, 'evilnpmjs.org', 443)).toBe(false);
    expect(egressAllowed(r, '198.51.100.2', 8080)).toBe(true);
    expect(egressAllowed(r, '198.51.100.2', 8081)).toBe(false);
    expect(egressAllowed(rules('*:443'), 'anything.example', 443)).toBe(true);
    expect(egressAllowed(rules('*:443'), 'anything.example', 22)).toBe(false);
  });
});

describe('the environment contract', () => {
  const env = (network: unknown) => ({ name: 'e', agent: { harness: 'command', command: 'true' }, network });

  it('accepts an allow-list with the network on', () => {
    expect(validateDocument('environment', env({ enabled: true, allow: ['api.anthropic.com', '*.npmjs.org:443'] })).ok).toBe(true);
  });

  it('names the JSON pointer of each bad entry', () => {
    const v = validateDocument('environment', env({ enabled: true, allow: ['ok.com', 'http://bad.com', 'x.com:99999'] }));
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.violations).toEqual([
      { pointer: '/network/allow/1', message: expect.stringMatching(/^must be a host name, \*\.domain/) },
      { pointer: '/network/allow/2', message: expect.stringMatching(/^must be a host name, \*\.domain/) },
    ]);
  });

  it('refuses a list with the network off or unsaid, and an empty list', () => {
    for (const network of [{ enabled: false, allow: ['a.com'] }, { allow: ['a.com'] }]) {
      const v = validateDocument('environment', env(network));
      expect(v).toEqual({ ok: false, violations: [{ pointer: '/network/enabled', message: 'must be true when network.allow is given' }] });
    }
    const empty = validateDocument('environment', env({ enabled: true, allow: [] }));
    expect(empty.ok || empty.violations.map((x) => x.pointer)).toEqual(['/network/allow']);
  });
});

describe('refused destinations', () => {
  const policy = destinationPolicy({ addresses: ['192.0.2.2', 'fd00::2'], networks: ['192.0.2.0/24'] });

  it.each([
    ['127.0.0.1', /loopback/],
    ['127.9.9.9', /loopback/],
    ['10.1.2.3', /private/],
    ['172.17.0.1', /private/],
    ['192.168.1.1', /private/],
    ['169.254.169.254', /link-local/],
    ['169.254.1.1', /link-local/],
    ['100.64.0.1', /shared/],
    ['0.0.0.0', /unspecified/],
    ['192.0.2.2', /own host/],
    ['192.0.2.77', /network of simlab's own host/],
    ['::1', /loopback/],
    ['fd00:ec2::254', /unique-local/],
    ['fe80::1', /link-local/],
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:7f00:1', /loopback/],
    ['::ffff:a9fe:a9fe', /link-local/],
    ['64:ff9b::169.254.169.254', /link-local/],
    ['2002:a9fe:a9fe::1', /link-local/],
    ['fd00::2', /own host|unique-local/],
  ])('%s', (ip, reason) => {
    expect(policy.refusal(ip)).toMatch(reason);
  });

  it.each(['198.51.100.2', '8.8.8.8', '2606:4700::1111', '203.0.113.9'])('lets %s through', (ip) => {
    expect(policy.refusal(ip)).toBeNull();
  });

  it('refuses metadata names before any lookup', () => {
    expect(policy.nameRefusal('metadata.google.internal')).toMatch(/metadata/);
    expect(policy.nameRefusal('METADATA.google.internal.')).toMatch(/metadata/);
    expect(policy.nameRefusal('example.com')).toBeNull();
  });

  it('normalizes spellings', () => {
    expect(normalize('[::FFFF:10.0.0.1]')).toBe('10.0.0.1');
    expect(normalize('fe80::1%eth0')).toBe('fe80::1');
  });
});

describe("the proxy's decision", () => {
  const names: Record<string, string[]> = { 'allowed.test': ['198.51.100.2'], 'rebind.test': ['127.0.0.1'], 'mixed.test': ['10.0.0.5', '198.51.100.3'] };
  const proxy = new EgressProxy({
    sourcePolicy: async (ip) => (ip === '172.30.0.2' ? { runId: 'run_1', allow: rules('allowed.test', 'rebind.test', 'mixed.test', '169.254.169.254', 'metadata.google.internal', '198.51.100.9:80') } : null),
    destinations: destinationPolicy({ addresses: ['192.0.2.2'], networks: [] }),
    lookup: async (h) => {
      if (!names[h]) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return names[h]!;
    },
  });

  it('connects an allowed name to its checked address', async () => {
    await expect(proxy.decide('172.30.0.2', 'allowed.test', 443)).resolves.toEqual({ ok: true, ip: '198.51.100.2', runId: 'run_1' });
    await expect(proxy.decide('::ffff:172.30.0.2', '198.51.100.9', 80)).resolves.toMatchObject({ ok: true, ip: '198.51.100.9' });
  });

  it('uses only the permitted addresses of a name', async () => {
    await expect(proxy.decide('172.30.0.2', 'mixed.test', 443)).resolves.toMatchObject({ ok: true, ip: '198.51.100.3' });
  });

  it('refuses what the list lacks, what resolves inward and metadata, even when listed', async () => {
    await expect(proxy.decide('172.30.0.2', 'other.test', 443)).resolves.toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/not in the environment's network.allow/) });
    await expect(proxy.decide('172.30.0.2', 'rebind.test', 443)).resolves.toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/127.0.0.1 \(a loopback address\)/) });
    await expect(proxy.decide('172.30.0.2', '169.254.169.254', 80)).resolves.toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/link-local/) });
    await expect(proxy.decide('172.30.0.2', 'metadata.google.internal', 80)).resolves.toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/metadata/) });
    await expect(proxy.decide('172.30.0.2', '198.51.100.9', 81)).resolves.toMatchObject({ ok: false, status: 403 });
  });

  it('refuses connections from anything but a known sandbox', async () => {
    await expect(proxy.decide('172.30.0.99', 'allowed.test', 443)).resolves.toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/not a sandbox/) });
  });
});
