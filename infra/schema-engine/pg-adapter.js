'use strict';
// A migration-aware Postgres driver adapter for the wasm schema engine, built on
// @prisma/adapter-pg 7.10.1 with fixes for what the schema engine needs from it:
//   1. Postgres' internal `"char"` type (OID 18, e.g. pg_constraint.contype) makes
//      adapter-pg throw UnsupportedNativeDataType while the engine introspects the
//      catalog. We let such columns through as text, then report them to the engine
//      as ColumnType Character (what the native engine's driver reports; the
//      describer reads e.g. constraint_type "as char" and panics on Text).
//   2. adapter-pg's executeScript splits on ';' (breaks $$ bodies and string
//      literals, runs statements one by one). We send the whole script as ONE
//      simple-protocol query, as the native engine does: Postgres runs a
//      multi-statement simple query as a single implicit transaction.
//   3. adapter-pg's connectToShadowDb reuses the main connection string (its
//      `database` override loses against the URL) and drops the shadow database
//      while its pool is still open. We create/drop the shadow database ourselves,
//      closing the pool first. On PGlite (single database) we use an in-memory PGlite.
const crypto = require('node:crypto');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const pg = require('pg');
const PgResult = require('pg/lib/result');
const { PrismaPg } = require('@prisma/adapter-pg');
const { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } = require('@prisma/driver-adapter-utils');

const CHAR_OID = 18;
const TEXT_OID = 25;
const WAS_CHAR = Symbol('was "char"');

// (1a) Applies to every pg result in this (shim-only) process: adapter-pg sees text.
const addFields = PgResult.prototype.addFields;
PgResult.prototype.addFields = function (fields) {
  for (const f of fields) if (f.dataTypeID === CHAR_OID) { f.dataTypeID = TEXT_OID; f[WAS_CHAR] = true; }
  return addFields.call(this, fields);
};

// (1b) ...and the engine sees Character for those columns. adapter-pg's queryRaw
// gets its pg result from this.performIO(); we run it with a per-call performIO that
// keeps the result, so concurrent queries cannot mix up their field lists.
function reportCharColumns(queryable) {
  const queryRaw = queryable.queryRaw;
  const performIO = queryable.performIO;
  queryable.queryRaw = async function (query) {
    let res;
    const self = Object.create(this, { performIO: { value: async (q) => (res = await performIO.call(this, q)) } });
    const out = await queryRaw.call(self, query);
    res?.fields?.forEach((f, i) => { if (f[WAS_CHAR]) out.columnTypes[i] = ColumnTypeEnum.Character; });
    return out;
  };
  return queryable;
}

/** Split the Prisma-style `?schema=` param off a URL (pg does not know it). */
function parseUrl(url) {
  const u = new URL(url);
  // undefined = the engine's default ("public"), as with the native engine and no ?schema=
  const schema = u.searchParams.get('schema') || undefined;
  u.searchParams.delete('schema');
  return { connectionString: u.toString(), schema, database: decodeURIComponent(u.pathname.slice(1)) || 'postgres' };
}

function poolFor(connectionString, schema) {
  const pool = new pg.Pool({
    connectionString,
    max: 4,
    // Same as the native engine: unqualified names resolve in the datasource schema.
    options: schema ? `-c search_path="${schema.replace(/"/g, '""')}"` : undefined,
  });
  pool.on('error', (err) => process.stderr.write(`[simlab-schema-engine] idle pg client error: ${err.message}\n`));
  return pool;
}

/** adapter-pg adapter over `pool`, with (2) and a custom dispose. */
async function adapterOver(pool, schema, dispose) {
  const adapter = await new PrismaPg(pool, { schema }).connect();
  adapter.executeScript = async (script) => {
    try {
      await pool.query(script); // no parameters => simple query protocol
    } catch (err) {
      adapter.onError(err); // rethrows as a DriverAdapterError (keeps SQLSTATE etc.)
    }
  };
  adapter.dispose = dispose;
  reportCharColumns(adapter);
  const startTransaction = adapter.startTransaction;
  adapter.startTransaction = async function (...args) {
    return reportCharColumns(await startTransaction.apply(this, args));
  };
  return adapter;
}

async function isPglite(pool) {
  const { rows } = await pool.query('select version() as v');
  return /PGlite|emscripten/i.test(rows[0].v);
}

/**
 * Build the bound (wasm-ready) adapter factory for a datasource
 * `{ url, shadowDatabaseUrl? }` as the Prisma CLI passes it with --datasource.
 */
function createAdapterFactory({ url, shadowDatabaseUrl }) {
  const main = parseUrl(url);
  const factory = {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    async connect() {
      const pool = poolFor(main.connectionString, main.schema);
      return adapterOver(pool, main.schema, () => pool.end());
    },
    async connectToShadowDb() {
      if (shadowDatabaseUrl) {
        const sh = parseUrl(shadowDatabaseUrl);
        const pool = poolFor(sh.connectionString, sh.schema);
        return adapterOver(pool, sh.schema, () => pool.end());
      }
      const admin = poolFor(main.connectionString, main.schema);
      try {
        if (await isPglite(admin)) return await pgliteShadow(main.schema);
        const name = `prisma_shadow_${crypto.randomBytes(6).toString('hex')}`;
        await admin.query(`CREATE DATABASE "${name}"`);
        const u = new URL(main.connectionString);
        u.pathname = '/' + name;
        const pool = poolFor(u.toString(), main.schema);
        return await adapterOver(pool, main.schema, async () => {
          await pool.end(); // close our sessions first, then drop
          const dropper = poolFor(main.connectionString, main.schema);
          try { await dropper.query(`DROP DATABASE IF EXISTS "${name}"`); }
          finally { await dropper.end(); }
        });
      } finally {
        await admin.end();
      }
    },
  };
  return bindMigrationAwareSqlAdapterFactory(factory);
}

/** Shadow database for a PGlite target: a throwaway in-memory PGlite served locally. */
async function pgliteShadow(schema) {
  const { PGlite } = await import('@electric-sql/pglite');
  const { servePglite } = await import(pathToFileURL(path.resolve(__dirname, '../pglite-server.mjs')).href);
  const db = await PGlite.create();
  const srv = await servePglite(db, { port: 0 });
  const pool = poolFor(srv.url, schema);
  if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '""')}"`);
  return adapterOver(pool, schema, async () => {
    await pool.end();
    await srv.close();
    await db.close();
  });
}

module.exports = { createAdapterFactory, parseUrl, poolFor };
