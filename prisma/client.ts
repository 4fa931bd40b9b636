/**
 * The one way simlab opens its database: Prisma over @prisma/adapter-pg, for a real
 * PostgreSQL server and for the embedded PGlite (served on the Postgres wire protocol
 * by infra/pglite-server.mjs) alike.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

export type { PrismaClient } from './generated/client';
export { Prisma } from './generated/client';

export function createPrisma(databaseUrl: string, opts: { maxConnections?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: opts.maxConnections ?? 5 });
  return new PrismaClient({ adapter });
}
