#!/usr/bin/env node
// Embedded Postgres for simlab when no DATABASE_URL is given: a file-backed PGlite
// served over the Postgres wire protocol on 127.0.0.1.
//
// Usage: node infra/pglite-server.mjs [dataDir]
//   dataDir: argument, else $SIMLAB_PGLITE_DIR, else <repo>/.data/pglite
//   port:    $SIMLAB_PGLITE_PORT, else 55432 (0 = pick a free port)
// Prints exactly one stdout line once it accepts connections:
//   ready postgresql://postgres:postgres@127.0.0.1:55432/postgres
//
// Why not PGLiteSocketServer from @electric-sql/pglite-socket 0.2.17 as is: with
// maxConnections > 1 it queues every protocol *message* separately, so the
// Parse/Bind/Execute/Sync of two clients interleave on PGlite's single session
// ("portal \"\" does not exist", rows delivered to the wrong client). PGlite has
// one backend session, so this file multiplexes connections onto it itself:
//   - messages are forwarded in whole batches, up to and including Sync ('S') or
//     a simple Query ('Q'), so extended-protocol sequences are never interleaved;
//   - a connection that leaves a transaction open (or stops mid-sequence without
//     Sync) keeps exclusive use of the session until it finishes; others wait;
//   - a client that disconnects inside a transaction gets it rolled back.
// What it cannot provide (single session underneath): real isolation between
// clients' session state (SET, temp tables, named prepared statements, advisory
// locks are shared), LISTEN/NOTIFY per client, COPY FROM STDIN, cancel requests.
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;
const PROTOCOL_3 = 196608;
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]); // 'S', length 4

/** FIFO lock over PGlite's single session; the owner may re-enter. */
class SessionLock {
  owner = null;
  waiters = [];
  async acquire(conn) {
    if (this.owner === conn) return;
    if (this.owner === null) { this.owner = conn; return; }
    await new Promise((resolve) => this.waiters.push({ conn, resolve }));
  }
  release(conn) {
    if (this.owner !== conn) return;
    const next = this.waiters.shift();
    this.owner = next ? next.conn : null;
    next?.resolve();
  }
  drop(conn) { this.waiters = this.waiters.filter((w) => w.conn !== conn); }
}

/**
 * Serve `db` (an open PGlite) on host:port. Returns { url, port, close }.
 * Exported so other tooling (the schema-engine shim's shadow database) can reuse it.
 */
export async function servePglite(db, { host = '127.0.0.1', port = 55432, log = () => {} } = {}) {
  const lock = new SessionLock();
  const sockets = new Set();

  // Run raw protocol bytes on the session, streaming the reply to `sink`.
  const exec = (bytes, sink) =>
    db.runExclusive(() => db.execProtocolRawStream(new Uint8Array(bytes), { onRawData: sink }));

  function handle(socket) {
    const conn = { id: Symbol('conn'), inSequence: false };
    let buf = Buffer.alloc(0);
    let started = false;
    let chain = Promise.resolve(); // keeps each connection's batches in order
    let closed = false;
    sockets.add(socket);
    socket.setNoDelay(true);
    const write = (data) => { if (!closed && data.length) socket.write(Buffer.from(data)); };

    const runBatch = (batch, endsSequence) => {
      chain = chain.then(async () => {
        if (closed) return;
        await lock.acquire(conn);
        try {
          await exec(batch, write);
        } finally {
          conn.inSequence = !endsSequence;
          // Keep the session while a transaction or an unsynced sequence is open.
          if (!conn.inSequence && !db.isInTransaction()) lock.release(conn);
        }
      }).catch((err) => { log(`connection error: ${err?.message ?? err}`); socket.destroy(); });
    };

    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let batchStart = 0;
      let off = 0;
      while (true) {
        if (!started) {
          if (buf.length - off < 8) break;
          const len = buf.readInt32BE(off);
          if (buf.length - off < len) break;
          const code = buf.readInt32BE(off + 4);
          const msg = buf.subarray(off, off + len);
          off += len;
          batchStart = off;
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) { socket.write('N'); continue; }
          if (code === CANCEL_REQUEST) { socket.end(); return; } // not supported
          if (code !== PROTOCOL_3) { socket.destroy(); return; }
          started = true;
          runBatch(Buffer.from(msg), true); // PGlite answers the startup itself (trust auth)
          continue;
        }
        if (buf.length - off < 5) break;
        const type = buf[off];
        const len = 1 + buf.readInt32BE(off + 1);
        if (buf.length - off < len) break;
        off += len;
        if (type === 0x58 /* 'X' Terminate */) { socket.end(); buf = Buffer.alloc(0); return; }
        // Sync, Query end a sequence; Flush ends a batch but keeps the session.
        if (type === 0x53 || type === 0x51 || type === 0x48) {
          runBatch(Buffer.from(buf.subarray(batchStart, off)), type !== 0x48);
          batchStart = off;
        }
      }
      buf = buf.subarray(batchStart);
    });

    const cleanup = () => {
      if (closed) return;
      closed = true;
      sockets.delete(socket);
      lock.drop(conn);
      chain = chain.then(async () => {
        if (lock.owner !== conn) return;
        // Abandoned mid-sequence or mid-transaction: reset the shared session.
        try {
          if (conn.inSequence) await exec(SYNC, () => {});
          if (db.isInTransaction()) await db.runExclusive(() => db.exec('ROLLBACK'));
        } catch (err) { log(`cleanup error: ${err?.message ?? err}`); }
        lock.release(conn);
      });
    };
    socket.on('close', cleanup);
    socket.on('error', (err) => { log(`socket error: ${err.message}`); cleanup(); });
  }

  const server = net.createServer(handle);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const actualPort = server.address().port;
  return {
    port: actualPort,
    url: `postgresql://postgres:postgres@${host}:${actualPort}/postgres`,
    async close() {
      await new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

async function main() {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const dataDir = path.resolve(process.argv[2] || process.env.SIMLAB_PGLITE_DIR || path.join(repo, '.data/pglite'));
  const port = Number(process.env.SIMLAB_PGLITE_PORT ?? 55432);
  const log = (m) => process.stderr.write(`[pglite-server] ${m}\n`);
  fs.mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const srv = await servePglite(db, { port, log });

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: closing`);
    try {
      await srv.close();
      await db.close(); // flushes the data dir
      process.exit(0);
    } catch (err) {
      log(`close failed: ${err?.stack ?? err}`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log(`data dir ${dataDir}`);
  process.stdout.write(`ready ${srv.url}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err) => {
    process.stderr.write(`[pglite-server] failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
}
