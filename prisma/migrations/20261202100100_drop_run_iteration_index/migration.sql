-- (iterationId, createdAt, id) serves every lookup by iteration as its prefix: the index on
-- iterationId alone was one more index for every run insert and status change to maintain.
DROP INDEX "Run_iterationId_idx";
