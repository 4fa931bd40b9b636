-- Iteration numbers: a per-product counter, incremented in the transaction that creates
-- the iteration, and a unique index that holds whatever the code does. NULLS NOT DISTINCT
-- (PostgreSQL 15+) makes ad hoc iterations (no experiment) unique per product too; Prisma's
-- schema language cannot express it, hence this index lives here only.
ALTER TABLE "Product" ADD COLUMN "lastIterationNumber" INTEGER NOT NULL DEFAULT 0;
UPDATE "Product" p SET "lastIterationNumber" = COALESCE((SELECT MAX(i."number") FROM "Iteration" i WHERE i."productId" = p."id"), 0);
CREATE UNIQUE INDEX "Iteration_productId_experimentId_number_key" ON "Iteration"("productId", "experimentId", "number") NULLS NOT DISTINCT;

-- Artifacts are named by their key in the artifact store, never by a worker's host path.
ALTER TABLE "Run" RENAME COLUMN "agentLogPath" TO "agentLogKey";
ALTER TABLE "Run" RENAME COLUMN "archivePath" TO "archiveKey";
UPDATE "Run" SET "agentLogKey" = "id" || '/agent.log' WHERE "agentLogKey" IS NOT NULL;
UPDATE "Run" SET "archiveKey" = "id" || '/home.tar.gz' WHERE "archiveKey" IS NOT NULL;
