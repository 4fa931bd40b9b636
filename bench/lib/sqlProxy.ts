/**
 * A TCP proxy in front of the database that reads the Postgres wire protocol as it passes
 * and counts what the worker asks: statements executed (simple Query, extended Execute),
 * by kind and table, and round trips (Sync or Query to ReadyForQuery) with their latency.
 * It forwards bytes unchanged; the profile points the worker's DATABASE_URL at it.
 */
import * as net from 'node:net';

export interface SqlStats {
  statements: number;
  roundTrips: number;
  transactions: number;
  roundTripMs: number[];
  byKind: Map<string, number>;
}

/** "SELECT Run", "UPDATE Run", "BEGIN": enough to see what a run's steps write and read. */
export function kindOf(sql: string): string {
  const s = sql.trim();
  const verb = (/^\w+/.exec(s)?.[0] ?? '?').toUpperCase();
  if (verb === 'BEGIN' || verb === 'COMMIT' || verb === 'ROLLBACK' || verb === 'SET' || verb === 'SHOW') return verb;
  const table = /(?:from|into|update|join)\s+(?:"?\w+"?\.)?"?(\w+)"?/i.exec(s)?.[1] ?? '';
  // Which columns an UPDATE sets tells the steps apart (status, agent process, archive...).
  const set = verb === 'UPDATE' ? /\bset\s+(.*?)\s+where\b/is.exec(s)?.[1] : undefined;
  const cols = set ? [...set.matchAll(/"(\w+)"\s*=/g)].map((m) => m[1]).filter((c) => c !== 'updatedAt') : [];
  return `${verb} ${table}${cols.length ? ` (${cols.join(', ')})` : ''}`.trim();
}

function cstring(buf: Buffer, at: number): [string, number] {
  const end = buf.indexOf(0, at);
  return [buf.toString('utf8', at, end), end + 1];
}

export class SqlProxy {
  readonly stats: SqlStats = { statements: 0, roundTrips: 0, transactions: 0, roundTripMs: [], byKind: new Map() };
  private server?: net.Server;
  private sockets = new Set<net.Socket>();

  constructor(private readonly target: { host: string; port: number }) {}

  /** Starts listening on a free port; returns the database URL rewritten to go through it. */
  async listen(databaseUrl: string): Promise<string> {
    this.server = net.createServer((client) => this.handle(client));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as net.AddressInfo).port;
    const u = new URL(databaseUrl);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    return u.toString();
  }

  reset(): void {
    Object.assign(this.stats, { statements: 0, roundTrips: 0, transactions: 0, roundTripMs: [], byKind: new Map() });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }

  private count(sql: string) {
    const k = kindOf(sql);
    this.stats.statements++;
    if (k === 'BEGIN') this.stats.transactions++;
    this.stats.byKind.set(k, (this.stats.byKind.get(k) ?? 0) + 1);
  }

  private handle(client: net.Socket) {
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(client).add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const statementsByName = new Map<string, string>();
    const portals = new Map<string, string>();
    const pending: number[] = [];
    let startup = true;
    let inBuf = Buffer.alloc(0);
    let outBuf = Buffer.alloc(0);

    client.on('data', (d: Buffer) => {
      upstream.write(d);
      inBuf = Buffer.concat([inBuf, d]);
      for (;;) {
        if (startup) {
          if (inBuf.length < 8) break;
          const len = inBuf.readInt32BE(0);
          if (inBuf.length < len) break;
          // 196608: protocol 3.0 startup; anything else (SSL/GSS requests) precedes it.
          if (inBuf.readInt32BE(4) === 196608) startup = false;
          inBuf = inBuf.subarray(len);
          continue;
        }
        if (inBuf.length < 5) break;
        const type = String.fromCharCode(inBuf[0]!);
        const len = inBuf.readInt32BE(1);
        if (inBuf.length < 1 + len) break;
        const body = inBuf.subarray(5, 1 + len);
        inBuf = inBuf.subarray(1 + len);
        if (type === 'Q') {
          this.count(cstring(body, 0)[0]);
          pending.push(Date.now());
        } else if (type === 'P') {
          const [name, at] = cstring(body, 0);
          statementsByName.set(name, cstring(body, at)[0]);
        } else if (type === 'B') {
          const [portal, at] = cstring(body, 0);
          portals.set(portal, statementsByName.get(cstring(body, at)[0]) ?? '?');
        } else if (type === 'E') {
          this.count(portals.get(cstring(body, 0)[0]) ?? '?');
        } else if (type === 'S') {
          pending.push(Date.now());
        }
      }
    });
    upstream.on('data', (d: Buffer) => {
      client.write(d);
      outBuf = Buffer.concat([outBuf, d]);
      for (;;) {
        // Before authentication ends the server may answer an SSL request with one byte.
        if (outBuf.length === 1 && outBuf[0] === 0x4e) {
          outBuf = Buffer.alloc(0);
          break;
        }
        if (outBuf.length < 5) break;
        const len = outBuf.readInt32BE(1);
        if (outBuf.length < 1 + len) break;
        const type = String.fromCharCode(outBuf[0]!);
        outBuf = outBuf.subarray(1 + len);
        if (type === 'Z') {
          const t0 = pending.shift();
          if (t0 !== undefined) {
            this.stats.roundTrips++;
            this.stats.roundTripMs.push(Date.now() - t0);
          }
        }
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  }
}
