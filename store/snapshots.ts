/**
 * Content-addressed snapshots of what runs used (migration 20261123250100_snapshots). The
 * database computes the address, from the jsonb text, so that equal definitions share one
 * row however their JSON was written and whichever code wrote them.
 */
import type { Prisma, PrismaClient } from '../prisma/client';

type Db = Pick<PrismaClient, '$queryRaw' | '$executeRaw'> | Prisma.TransactionClient;

/** Stores each distinct content once (if new) and returns the address of each, in order. */
export async function putSnapshots(db: Db, contents: unknown[]): Promise<string[]> {
  const distinct = new Map<string, string>();
  for (const c of contents) {
    const json = JSON.stringify(c);
    if (distinct.has(json)) continue;
    await db.$executeRaw`INSERT INTO "Snapshot" ("hash", "content")
      SELECT encode(sha256(convert_to(c::text, 'UTF8')), 'hex'), c FROM (SELECT ${json}::jsonb AS c) x
      ON CONFLICT ("hash") DO NOTHING`;
    const [row] = await db.$queryRaw<{ hash: string }[]>`SELECT encode(sha256(convert_to(${json}::jsonb::text, 'UTF8')), 'hex') AS hash`;
    distinct.set(json, row!.hash);
  }
  return contents.map((c) => distinct.get(JSON.stringify(c))!);
}
