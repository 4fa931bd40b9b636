/**
 * The egress proxy: the only way out of a sandbox whose environment has an allow-list.
 * Such a sandbox sits on an internal Docker network (no route anywhere) with HTTP(S)_PROXY
 * pointing here; this proxy answers HTTP CONNECT (any TCP protocol, TLS included) and
 * plain-HTTP forward requests. It knows which sandbox is asking by the connection's source
 * address on that network (the agent cannot change it: no capabilities), applies that
 * sandbox's allow-list to the name asked for, resolves the name itself and connects to
 * the resolved address only if no rule of `destinations.ts` refuses it, so DNS rebinding
 * and names pointing inward get nowhere.
 */
import * as dns from 'node:dns/promises';
import * as http from 'node:http';
import { isIP, connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { egressAllowed, type EgressRule } from '../domain/egressPattern';
import type { DestinationPolicy } from './destinations';

export interface SourcePolicy {
  runId: string;
  allow: EgressRule[];
}

export interface EgressProxyDeps {
  /** The sandbox behind a source address, or null when it is none this host knows. */
  sourcePolicy(ip: string): Promise<SourcePolicy | null>;
  destinations: DestinationPolicy;
  /** Every address of a name (default: the host's resolver). */
  lookup?: (host: string) => Promise<string[]>;
  /** One line per refused request. */
  log?: (line: string) => void;
}

export type Decision = { ok: true; ip: string; runId: string } | { ok: false; status: number; reason: string; runId?: string };

const CONNECT_TIMEOUT_MS = 10_000;
/** A tunnel or request idle this long is closed. */
const IDLE_TIMEOUT_MS = 10 * 60_000;
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

const defaultLookup = async (host: string) => (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export class EgressProxy {
  private server: http.Server | undefined;
  private retry: NodeJS.Timeout | undefined;
  private target: string | undefined;
  private readonly lookup: (host: string) => Promise<string[]>;
  private stopped = false;

  constructor(private readonly deps: EgressProxyDeps) {
    this.lookup = deps.lookup ?? defaultLookup;
  }

  /** Whether `sourceIp` may reach `host:port`, and at which address. */
  async decide(sourceIp: string, host: string, port: number): Promise<Decision> {
    const source = await this.deps.sourcePolicy(sourceIp.replace(/^::ffff:/, ''));
    if (!source) return { ok: false, status: 403, reason: `${sourceIp} is not a sandbox with network access` };
    const refused = (reason: string): Decision => ({ ok: false, status: 403, reason, runId: source.runId });
    if (!Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, status: 400, reason: `invalid port ${port}`, runId: source.runId };
    const name = host.replace(/^\[|\]$/g, '');
    if (!egressAllowed(source.allow, name, port)) return refused(`${host}:${port} is not in the environment's network.allow list`);
    const byName = this.deps.destinations.nameRefusal(name);
    if (byName) return refused(`${host} is ${byName}`);
    let addresses: string[];
    try {
      addresses = isIP(name) ? [name] : await this.lookup(name);
    } catch (err) {
      return { ok: false, status: 502, reason: `cannot resolve ${host}: ${(err as { code?: string }).code ?? (err as Error).message}`, runId: source.runId };
    }
    // Only the addresses checked here are ever connected to: no second resolution.
    const reasons = addresses.map((ip) => ({ ip, why: this.deps.destinations.refusal(ip) }));
    const usable = reasons.find((r) => r.why === null);
    if (!usable) return refused(`${host} resolves to ${reasons.map((r) => `${r.ip} (${r.why})`).join(', ') || 'nothing'}, which sandboxes may not reach`);
    return { ok: true, ip: usable.ip, runId: source.runId };
  }

  /** Listens now; throws (EADDRINUSE, EADDRNOTAVAIL...) when it cannot. */
  async listen(host: string, port: number): Promise<void> {
    const server = http.createServer((req, res) => void this.forward(req, res));
    server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.tunnel(req, socket as Socket, head));
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /**
   * Keeps trying to listen on `host:port` until it does: with several workers on one Docker
   * host, one serves and the others take over within `retryMs` when it goes (the proxy
   * keeps no state of its own: every sandbox's policy is read from Docker). Called again
   * with another address (the network was made anew), it moves there.
   */
  supervise(host: string, port: number, retryMs = 5000, onError?: (err: Error) => void): void {
    const target = `${host}:${port}`;
    if (this.stopped || this.target === target) return;
    this.target = target;
    clearTimeout(this.retry);
    this.server?.closeAllConnections();
    this.server?.close();
    this.server = undefined;
    let reported = false;
    const attempt = () => {
      if (this.stopped || this.server || this.target !== target) return;
      this.listen(host, port).catch((err: NodeJS.ErrnoException) => {
        // Another worker's proxy holds the port: not a problem, and not worth a line every 5 s.
        if (err.code !== 'EADDRINUSE' && !reported) onError?.(err);
        reported = true;
        if (!this.stopped && this.target === target) this.retry = setTimeout(attempt, retryMs);
      });
    };
    attempt();
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private refuse(d: Extract<Decision, { ok: false }>, what: string): string {
    this.deps.log?.(`[egress] refused${d.runId ? ` run ${d.runId}` : ''}: ${what}: ${d.reason}`);
    return `simlab egress policy: ${d.reason}\n`;
  }

  private async tunnel(req: http.IncomingMessage, client: Socket, head: Buffer): Promise<void> {
    // Bytes a client sends before our answer wait in the socket, not lost while we decide.
    client.pause();
    client.on('error', () => client.destroy());
    const target = req.url ?? '';
    const colon = target.lastIndexOf(':');
    const host = colon > 0 ? target.slice(0, colon) : target;
    const port = colon > 0 ? Number(target.slice(colon + 1)) : NaN;
    const d = await this.decide(client.remoteAddress ?? '', host, port).catch((err: Error) => ({ ok: false, status: 502, reason: err.message }) as Decision);
    if (!d.ok) {
      const body = this.refuse(d, `CONNECT ${target}`);
      client.end(`HTTP/1.1 ${d.status} ${http.STATUS_CODES[d.status]}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    const upstream = connect({ host: d.ip, port, timeout: CONNECT_TIMEOUT_MS });
    let connected = false;
    upstream.once('timeout', () => upstream.destroy(new Error('connect timed out')));
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(IDLE_TIMEOUT_MS);
      client.setTimeout(IDLE_TIMEOUT_MS, () => client.destroy());
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', (err) => {
      if (!connected) {
        client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\ncannot connect to ${target}: ${err.message}\n`);
      } else client.destroy();
    });
    client.on('close', () => upstream.destroy());
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
      if (url.protocol !== 'http:') throw new Error();
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('simlab egress proxy: send absolute http:// URLs, or CONNECT for anything else\n');
      return;
    }
    const port = url.port ? Number(url.port) : 80;
    const d = await this.decide(req.socket.remoteAddress ?? '', url.hostname, port).catch((err: Error) => ({ ok: false, status: 502, reason: err.message }) as Decision);
    if (!d.ok) {
      res.writeHead(d.status, { 'content-type': 'text/plain' }).end(this.refuse(d, `${req.method} ${url.origin}`));
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    const dropped = new Set([...HOP_BY_HOP, ...String(req.headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim())]);
    for (const [k, v] of Object.entries(req.headers)) if (!dropped.has(k) && v !== undefined) headers[k] = v;
    headers.host = url.host;
    const upstream = http.request({ host: d.ip, port, method: req.method, path: `${url.pathname}${url.search}`, headers, setHost: false, timeout: CONNECT_TIMEOUT_MS });
    upstream.on('response', (up) => {
      upstream.setTimeout(IDLE_TIMEOUT_MS);
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.includes(k) && v !== undefined) out[k] = v;
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    });
    upstream.on('timeout', () => upstream.destroy(new Error('timed out')));
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`cannot reach ${url.origin}: ${err.message}\n`);
      else res.destroy();
    });
    req.pipe(upstream);
  }
}
