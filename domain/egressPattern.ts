/**
 * The grammar of an environment's `network.allow` entries: a host name, `*.domain` (any
 * name below that domain, not the domain itself), an IPv4 literal or `*` (any public host),
 * each with an optional `:port` (any port when absent). Shared by the contract's JSON
 * Schema and by the egress proxy that enforces it, so what validates is what matches.
 */
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const PORT = '(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
export const EGRESS_PATTERN_SOURCE = `^(?:\\*|(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*)(?::${PORT})?$`;
const PATTERN = new RegExp(EGRESS_PATTERN_SOURCE);

export const EGRESS_PATTERN_HINT =
  'must be a host name, *.domain, an IPv4 address or *, with an optional :port (for example api.anthropic.com or *.npmjs.org:443)';

export interface EgressRule {
  /** Lower case; `*` any host; `*.x.y` any name below x.y. */
  host: string;
  /** null: any port. */
  port: number | null;
}

export function parseEgressRule(entry: string): EgressRule {
  if (!PATTERN.test(entry) || entry.length > 253) throw new Error(`'${entry}' ${EGRESS_PATTERN_HINT}`);
  const colon = entry.lastIndexOf(':');
  return colon < 0 ? { host: entry.toLowerCase(), port: null } : { host: entry.slice(0, colon).toLowerCase(), port: Number(entry.slice(colon + 1)) };
}

/** Whether `host:port` (a name as the client asked for it, or an IP literal) is on the list. */
export function egressAllowed(rules: readonly EgressRule[], host: string, port: number): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return rules.some((r) => {
    if (r.port !== null && r.port !== port) return false;
    if (r.host === '*') return true;
    if (r.host.startsWith('*.')) return h.endsWith(r.host.slice(1)) && h.length > r.host.length - 1;
    return h === r.host;
  });
}
