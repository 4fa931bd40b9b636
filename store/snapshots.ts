/**
 * Content-addressed snapshots of what runs used (migration 20261123250100_snapshots). The
 * database computes the address, from the jsonb text, so that equal definitions share one
 * row however their JSON was written and whichever code wrote them.
 */
import type { Prisma, PrismaClient } from '../prisma/client';

type Db = Pick<PrismaClient, '$queryRaw' | '$executeRaw'> | Prisma.TransactionClient;

/**
 * Stores each distinct content once (if new) and returns the address of each, in order: one
 * statement whatever the number of contents. The address is computed exactly as the
 * migration computed it, from the text of the jsonb value.
 */
export async function putSnapshots(db: Db, contents: unknown[]): Promise<string[]> {
  if (contents.length === 0) return [];
  const jsons = contents.map((c) => JSON.stringify(c));
  const distinct = [...new Set(jsons)];
  // Two texts may be one jsonb value (key order, spacing): DISTINCT ON keeps the insert to one row per address.
  const rows = await db.$queryRaw<{ ord: number; hash: string }[]>`
    WITH x AS (
      SELECT t.ord::int AS ord, encode(sha256(convert_to(t.json::jsonb::text, 'UTF8')), 'hex') AS hash, t.json::jsonb AS c
      FROM unnest(${distinct}::text[]) WITH ORDINALITY AS t(json, ord)
    ), ins AS (
      INSERT INTO "Snapshot" ("hash", "content") SELECT DISTINCT ON (hash) hash, c FROM x
      ON CONFLICT ("hash") DO NOTHING
    )
    SELECT ord, hash FROM x`;
  const hashOf = new Map(rows.map((r) => [distinct[r.ord - 1]!, r.hash]));
  return jsons.map((j) => hashOf.get(j)!);
}

/** Bounds of the process-wide cache of snapshot contents: entries, and their JSON text in characters. */
const CACHE_MAX_ENTRIES = 256;
const CACHE_MAX_CHARS = 32 * 1024 * 1024;

/**
 * Snapshot contents by address, least recently used dropped first. A snapshot's row never
 * changes (a trigger refuses any update) and its address is the SHA-256 of its content, so a
 * cached entry can never be stale, whichever database or process wrote the row.
 */
const cache = new Map<string, { content: unknown; chars: number }>();
let cachedChars = 0;

function remember(hash: string, content: unknown): void {
  const chars = JSON.stringify(content).length;
  if (chars > CACHE_MAX_CHARS || cache.has(hash)) return;
  cache.set(hash, { content, chars });
  cachedChars += chars;
  for (const [oldest, entry] of cache) {
    if (cache.size <= CACHE_MAX_ENTRIES && cachedChars <= CACHE_MAX_CHARS) break;
    cache.delete(oldest);
    cachedChars -= entry.chars;
  }
}

/**
 * The contents of the snapshots at these addresses, in order, from the cache, the missing
 * ones read in one query. Each element is a copy of its own (as if read from the database):
 * changing it changes nothing for anyone else.
 */
export async function snapshotContents(db: Pick<PrismaClient, 'snapshot'> | Prisma.TransactionClient, hashes: string[]): Promise<unknown[]> {
  const found = new Map<string, unknown>();
  for (const hash of hashes) {
    const hit = cache.get(hash);
    if (!hit) continue;
    // Most recently used: to the end of the map's order.
    cache.delete(hash);
    cache.set(hash, hit);
    found.set(hash, hit.content);
  }
  const missing = [...new Set(hashes.filter((h) => !found.has(h)))];
  if (missing.length > 0) {
    const rows = await db.snapshot.findMany({ where: { hash: { in: missing } }, select: { hash: true, content: true } });
    for (const r of rows) {
      remember(r.hash, r.content);
      found.set(r.hash, r.content);
    }
    const absent = missing.find((h) => !found.has(h));
    if (absent) throw new Error(`snapshot ${absent} does not exist`);
  }
  return hashes.map((h) => structuredClone(found.get(h)));
}

/** Empties the cache of snapshot contents (tests). */
export function forgetSnapshotContents(): void {
  cache.clear();
  cachedChars = 0;
}
