/**
 * A Unix-socket proxy in front of the Docker engine that counts the worker's Docker API
 * calls by endpoint and times them (request line to the first byte of the answer). Bytes
 * pass unchanged; the worker reaches it through DOCKER_HOST.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const REQUEST = /(GET|POST|PUT|DELETE|HEAD) (\/[^ ?]*)[^ ]* HTTP\/1\.[01]\r\n/g;

/** "/v1.41/containers/3f…/exec" -> "POST /containers/{id}/exec". */
export function endpointOf(method: string, p: string): string {
  const parts = p
    .replace(/^\/v[\d.]+/, '')
    .split('/')
    .map((s, i, all) => (i >= 2 && (all[i - 1] === 'containers' || all[i - 1] === 'exec' || all[i - 1] === 'images') && s !== 'json' && s !== 'create' ? '{id}' : s));
  return `${method} ${parts.join('/')}`;
}

export class DockerProxy {
  readonly calls = new Map<string, number[]>();
  readonly socketPath = path.join(os.tmpdir(), `simlab-bench-docker-${process.pid}-${Date.now().toString(36)}.sock`);
  private server?: net.Server;
  private sockets = new Set<net.Socket>();

  constructor(private readonly target = '/var/run/docker.sock') {}

  async listen(): Promise<string> {
    this.server = net.createServer((c) => this.handle(c));
    await new Promise<void>((r) => this.server!.listen(this.socketPath, r));
    return `unix://${this.socketPath}`;
  }

  reset(): void {
    this.calls.clear();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
    fs.rmSync(this.socketPath, { force: true });
  }

  private handle(client: net.Socket) {
    const upstream = net.connect(this.target);
    this.sockets.add(client).add(upstream);
    const pending: { name: string; t0: number }[] = [];
    client.on('data', (d: Buffer) => {
      upstream.write(d);
      // Request heads are written apart from bodies by Node's http client; a body that
      // happened to hold a request line would be miscounted, which tar and JSON do not.
      for (const m of d.toString('latin1', 0, Math.min(d.length, 4096)).matchAll(REQUEST)) pending.push({ name: endpointOf(m[1]!, m[2]!), t0: performance.now() });
    });
    const record = (name: string, ms: number) => {
      const xs = this.calls.get(name) ?? [];
      xs.push(ms);
      this.calls.set(name, xs);
    };
    // An attached exec's start is answered 101 and then streams until the command ends:
    // that whole time is what the exec costs the run.
    let upgraded: { name: string; t0: number } | undefined;
    upstream.on('data', (d: Buffer) => {
      client.write(d);
      const head = d.subarray(0, 12).toString('latin1');
      if (pending.length && head.startsWith('HTTP/1.')) {
        const p = pending.shift()!;
        record(p.name, performance.now() - p.t0);
        if (head.startsWith('HTTP/1.1 101')) upgraded = { name: `${p.name} (attached, until the command ends)`, t0: p.t0 };
      }
    });
    upstream.once('close', () => {
      if (upgraded) record(upgraded.name, performance.now() - upgraded.t0);
      upgraded = undefined;
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
  }
}
