/**
 * Where a webhook may point. simlab's workers POST to it, so an unchecked URL would let a
 * user make them reach loopback services, the private network or a cloud metadata
 * endpoint (169.254.169.254). Refused unless the operator allows private targets
 * (SIMLAB_WEBHOOK_ALLOW_PRIVATE): literal addresses and well-known names when the URL is
 * set, and every address the name resolves to when it is delivered (see `guardedLookup`),
 * so a name that later resolves to a private address (DNS rebinding) is refused too.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

const BLOCKED = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  BLOCKED.addSubnet(prefix, bits, 'ipv4');
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64 of IPv4 addresses
  ['fc00::', 7], // unique local (AWS metadata fd00:ec2::254 among them)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const)
  BLOCKED.addSubnet(prefix, bits, 'ipv6');

const BLOCKED_NAMES = [/^localhost$/i, /\.localhost$/i, /^metadata(\.google\.internal)?$/i, /\.internal$/i, /\.local$/i];

/** True when an address is loopback, private, link-local, metadata or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (!family) return false;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Why the URL cannot be a webhook target (checks that need no DNS), or null. */
export function webhookUrlProblem(raw: unknown, allowPrivateTargets: boolean): string | null {
  if (typeof raw !== 'string' || !raw) return 'must be an http(s) URL';
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must use https or http, not ${url.protocol.replace(/:$/, '')}`;
  // Stored in clear and shown in lists: a credential belongs in the signing secret, not here.
  if (url.username || url.password) return 'must not contain a user name or password';
  if (url.hash) return 'must not contain a #fragment';
  if (allowPrivateTargets) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isPrivateAddress(host) || BLOCKED_NAMES.some((re) => re.test(host))) {
    return `targets a loopback, private or link-local address (${host}); an operator can allow that with SIMLAB_WEBHOOK_ALLOW_PRIVATE=true`;
  }
  return null;
}

export class WebhookTargetRefused extends Error {
  override readonly name = 'WebhookTargetRefused';
}

/**
 * A `lookup` for http.request that refuses private addresses after resolution: the
 * address checked is the address connected to.
 */
export function guardedLookup(allowPrivateTargets: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      const bad = allowPrivateTargets ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (bad) return callback(new WebhookTargetRefused(`${hostname} resolves to ${bad.address}, a loopback, private or link-local address`), '', 0);
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}
