-- Per-iteration aggregates kept as runs change, so progress and results of a 10,000-run
-- iteration are read from a handful of rows, never computed over its runs. Maintained by
-- statement-level triggers on "Run": every write path (a transition, a bulk cancel, a
-- launch that failed) keeps them right, and a bulk statement costs one aggregate write.
CREATE TABLE "IterationRunCount" (
    "iterationId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "runs" INTEGER NOT NULL DEFAULT 0,
    "passed" INTEGER NOT NULL DEFAULT 0,
    "failedVerdicts" INTEGER NOT NULL DEFAULT 0,
    "scoreSum" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "scored" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "IterationRunCount_pkey" PRIMARY KEY ("iterationId", "status")
);
ALTER TABLE "IterationRunCount" ADD CONSTRAINT "IterationRunCount_iterationId_fkey" FOREIGN KEY ("iterationId") REFERENCES "Iteration"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Rows are written in (iterationId, status) order, so concurrent transitions of one
-- iteration lock its count rows in the same order and never deadlock.
CREATE FUNCTION simlab_count_runs_insert() RETURNS trigger AS $$
BEGIN
  INSERT INTO "IterationRunCount" AS c ("iterationId", "status", "runs", "passed", "failedVerdicts", "scoreSum", "scored")
  SELECT "iterationId", "status", count(*), count(*) FILTER (WHERE "passed" IS TRUE), count(*) FILTER (WHERE "passed" IS FALSE),
         COALESCE(sum("score"), 0), count("score")
  FROM new_runs GROUP BY "iterationId", "status" ORDER BY "iterationId", "status"
  ON CONFLICT ("iterationId", "status") DO UPDATE SET
    "runs" = c."runs" + EXCLUDED."runs", "passed" = c."passed" + EXCLUDED."passed",
    "failedVerdicts" = c."failedVerdicts" + EXCLUDED."failedVerdicts",
    "scoreSum" = c."scoreSum" + EXCLUDED."scoreSum", "scored" = c."scored" + EXCLUDED."scored";
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION simlab_count_runs_update() RETURNS trigger AS $$
BEGIN
  WITH changed AS (
    SELECT o."iterationId" AS oi, o."status" AS os, o."passed" AS op, o."score" AS osc,
           n."iterationId" AS ni, n."status" AS ns, n."passed" AS np, n."score" AS nsc
    FROM old_runs o JOIN new_runs n ON n."id" = o."id"
    WHERE (o."status", o."passed", o."score", o."iterationId") IS DISTINCT FROM (n."status", n."passed", n."score", n."iterationId")
  ), delta AS (
    SELECT ni AS "iterationId", ns AS "status", 1 AS runs, (np IS TRUE)::int AS passed, (np IS FALSE)::int AS failed,
           COALESCE(nsc, 0) AS ssum, (nsc IS NOT NULL)::int AS scored FROM changed
    UNION ALL
    SELECT oi, os, -1, -((op IS TRUE)::int), -((op IS FALSE)::int), -COALESCE(osc, 0), -((osc IS NOT NULL)::int) FROM changed
  )
  INSERT INTO "IterationRunCount" AS c ("iterationId", "status", "runs", "passed", "failedVerdicts", "scoreSum", "scored")
  SELECT "iterationId", "status", sum(runs), sum(passed), sum(failed), sum(ssum), sum(scored)
  FROM delta GROUP BY "iterationId", "status" ORDER BY "iterationId", "status"
  ON CONFLICT ("iterationId", "status") DO UPDATE SET
    "runs" = c."runs" + EXCLUDED."runs", "passed" = c."passed" + EXCLUDED."passed",
    "failedVerdicts" = c."failedVerdicts" + EXCLUDED."failedVerdicts",
    "scoreSum" = c."scoreSum" + EXCLUDED."scoreSum", "scored" = c."scored" + EXCLUDED."scored";
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION simlab_count_runs_delete() RETURNS trigger AS $$
BEGIN
  UPDATE "IterationRunCount" AS c SET
    "runs" = c."runs" - d."runs", "passed" = c."passed" - d."passed", "failedVerdicts" = c."failedVerdicts" - d."failed",
    "scoreSum" = c."scoreSum" - d."ssum", "scored" = c."scored" - d."scored"
  FROM (
    SELECT "iterationId", "status", count(*) AS runs, count(*) FILTER (WHERE "passed" IS TRUE) AS passed,
           count(*) FILTER (WHERE "passed" IS FALSE) AS failed, COALESCE(sum("score"), 0) AS ssum, count("score") AS scored
    FROM old_runs GROUP BY "iterationId", "status"
  ) d
  WHERE c."iterationId" = d."iterationId" AND c."status" = d."status";
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "Run_count_insert" AFTER INSERT ON "Run" REFERENCING NEW TABLE AS new_runs FOR EACH STATEMENT EXECUTE FUNCTION simlab_count_runs_insert();
CREATE TRIGGER "Run_count_update" AFTER UPDATE ON "Run" REFERENCING OLD TABLE AS old_runs NEW TABLE AS new_runs FOR EACH STATEMENT EXECUTE FUNCTION simlab_count_runs_update();
CREATE TRIGGER "Run_count_delete" AFTER DELETE ON "Run" REFERENCING OLD TABLE AS old_runs FOR EACH STATEMENT EXECUTE FUNCTION simlab_count_runs_delete();

-- Iterations that exist already.
INSERT INTO "IterationRunCount" ("iterationId", "status", "runs", "passed", "failedVerdicts", "scoreSum", "scored")
SELECT "iterationId", "status", count(*), count(*) FILTER (WHERE "passed" IS TRUE), count(*) FILTER (WHERE "passed" IS FALSE),
       COALESCE(sum("score"), 0), count("score")
FROM "Run" GROUP BY "iterationId", "status";
