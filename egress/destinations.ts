/**
 * Which destinations no sandbox and no worker-side fetch on a task's behalf may reach,
 * whatever an allow-list says: the worker host itself (its API, database, Temporal, Docker
 * daemon, anything listening on any of its addresses), loopback, private and link-local
 * networks (where the rest of the installation lives) and cloud metadata services. Judged
 * on the address actually connected to, after resolution, so a name that resolves (or
 * rebinds) to such an address is refused too.
 */
import { BlockList, isIP } from 'node:net';
import * as os from 'node:os';

/** Names of metadata services that resolve to link-local addresses inside clouds. */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

const V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'an unspecified address'],
  ['10.0.0.0', 8, 'a private address'],
  ['100.64.0.0', 10, 'a shared (carrier-grade NAT) address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address (cloud metadata lives there)'],
  ['172.16.0.0', 12, 'a private address'],
  ['192.0.0.0', 24, 'an IETF protocol address'],
  ['192.168.0.0', 16, 'a private address'],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved address'],
];
const V6: [string, number, string][] = [
  ['::', 128, 'an unspecified address'],
  ['::1', 128, 'a loopback address'],
  ['fc00::', 7, 'a unique-local address (cloud metadata such as fd00:ec2::254 lives there)'],
  ['fe80::', 10, 'a link-local address'],
  ['ff00::', 8, 'a multicast address'],
];

/** The IPv4 networks refused in every mode, as CIDRs (for firewall rules). */
export const FORBIDDEN_V4_CIDRS: readonly string[] = V4.map(([a, p]) => `${a}/${p}`);

export interface DestinationPolicy {
  /** Why `ip` may not be reached, or null when it may. */
  refusal(ip: string): string | null;
  /** Why a host name is refused before resolution (metadata names), or null. */
  nameRefusal(host: string): string | null;
}

export interface HostNetworks {
  /** Every address of every interface: services bound to 0.0.0.0 answer on all of them. */
  addresses: string[];
  /** The IPv4 networks the host sits on (CIDRs): its neighbours may be the database, the API... */
  networks: string[];
}

/** The worker host's own addresses and networks, Docker's bridges excepted (sandboxes live there). */
export function hostNetworks(): HostNetworks {
  const all = Object.entries(os.networkInterfaces()).flatMap(([name, l]) => (l ?? []).map((i) => ({ name, ...i })));
  return {
    addresses: all.map((i) => i.address.replace(/%.*$/, '')),
    networks: all
      .filter((i) => i.family === 'IPv4' && !i.internal && !/^(docker|br-|veth)/.test(i.name) && i.cidr)
      .map((i) => cidrNetwork(i.cidr!)),
  };
}

function cidrNetwork(cidr: string): string {
  const [addr, bits] = cidr.split('/') as [string, string];
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  const base = Math.floor(n / size) * size;
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join('.')}/${bits}`;
}

export function destinationPolicy(host: HostNetworks = hostNetworks()): DestinationPolicy {
  const classes: { list: BlockList; reason: string }[] = [...V4.map((r) => [r, 'ipv4'] as const), ...V6.map((r) => [r, 'ipv6'] as const)].map(([[addr, prefix, reason], family]) => {
    const list = new BlockList();
    list.addSubnet(addr, prefix, family);
    return { list, reason };
  });
  const own = new Set(host.addresses.map(normalize));
  const neighbours = new BlockList();
  for (const cidr of host.networks) {
    const [addr, bits] = cidr.split('/') as [string, string];
    neighbours.addSubnet(addr, Number(bits), 'ipv4');
  }

  const refusal = (raw: string): string | null => {
    const ip = normalize(raw);
    const family = isIP(ip);
    if (family === 0) return 'not an IP address';
    const type = family === 4 ? 'ipv4' : 'ipv6';
    for (const c of classes) if (c.list.check(ip, type)) return c.reason;
    if (own.has(ip)) return "an address of simlab's own host";
    if (type === 'ipv4' && neighbours.check(ip, 'ipv4')) return "on the network of simlab's own host";
    return null;
  };
  return {
    refusal,
    nameRefusal: (host) => (METADATA_NAMES.has(host.toLowerCase().replace(/\.$/, '')) ? 'a cloud metadata service' : null),
  };
}

/**
 * One spelling per address: IPv4-mapped and NAT64/6to4-embedded IPv4 addresses are judged
 * as the IPv4 address they reach, so `::ffff:127.0.0.1` is loopback.
 */
export function normalize(raw: string): string {
  let ip = raw.trim().replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip) ?? /^64:ff9b::(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIP(ip) === 6) {
    const words = expand6(ip);
    // ::ffff:7f00:1 (hex form of a mapped address), 64:ff9b::/96 (NAT64), 2002::/16 (6to4).
    if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) ip = v4(words[6]!, words[7]!);
    else if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0)) ip = v4(words[6]!, words[7]!);
    else if (words[0] === 0x2002) ip = v4(words[1]!, words[2]!);
  }
  return ip;
}

function v4(hi: number, lo: number): string {
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

function expand6(ip: string): number[] {
  let s = ip;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const [a, b, c, d] = tail[1]!.split('.').map(Number) as [number, number, number, number];
    s = s.slice(0, -tail[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const fill = rest === undefined ? [] : Array(8 - h.length - r.length).fill('0');
  return [...h, ...fill, ...r].map((w) => parseInt(w, 16));
}
