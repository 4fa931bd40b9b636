// Prisma CLI configuration. The URL is DATABASE_URL; infra/db.sh sets it to the embedded
// PGlite server when no database server is given.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:55432/postgres' },
});
