-- A run's task and environment snapshots are stored once per distinct content, addressed
-- by the SHA-256 of their jsonb text (jsonb normalises key order and spacing, so equal
-- definitions share one row whatever their JSON looked like): a 10,000-run iteration of one
-- task and one environment stores two snapshots, not 20,000 copies.
CREATE TABLE "Snapshot" (
    "hash" TEXT NOT NULL,
    "content" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Snapshot_pkey" PRIMARY KEY ("hash")
);

-- Content-addressed rows never change.
CREATE FUNCTION simlab_snapshot_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'snapshot % is immutable', OLD."hash" USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER "Snapshot_immutable" BEFORE UPDATE ON "Snapshot" FOR EACH ROW EXECUTE FUNCTION simlab_snapshot_immutable();

INSERT INTO "Snapshot" ("hash", "content")
SELECT DISTINCT encode(sha256(convert_to(s::text, 'UTF8')), 'hex'), s
FROM (SELECT "taskSnapshot" AS s FROM "Run" UNION SELECT "environmentSnapshot" FROM "Run") x
ON CONFLICT DO NOTHING;

ALTER TABLE "Run" ADD COLUMN "taskSnapshotHash" TEXT, ADD COLUMN "environmentSnapshotHash" TEXT;
UPDATE "Run" SET
  "taskSnapshotHash" = encode(sha256(convert_to("taskSnapshot"::text, 'UTF8')), 'hex'),
  "environmentSnapshotHash" = encode(sha256(convert_to("environmentSnapshot"::text, 'UTF8')), 'hex');
ALTER TABLE "Run" ALTER COLUMN "taskSnapshotHash" SET NOT NULL, ALTER COLUMN "environmentSnapshotHash" SET NOT NULL;
ALTER TABLE "Run" ADD CONSTRAINT "Run_taskSnapshotHash_fkey" FOREIGN KEY ("taskSnapshotHash") REFERENCES "Snapshot"("hash") ON DELETE RESTRICT ON UPDATE RESTRICT;
ALTER TABLE "Run" ADD CONSTRAINT "Run_environmentSnapshotHash_fkey" FOREIGN KEY ("environmentSnapshotHash") REFERENCES "Snapshot"("hash") ON DELETE RESTRICT ON UPDATE RESTRICT;

-- What a run used stays frozen: now its snapshot references.
CREATE OR REPLACE FUNCTION simlab_freeze_run_snapshots() RETURNS trigger AS $$
BEGIN
  IF NEW."taskSnapshotHash" IS DISTINCT FROM OLD."taskSnapshotHash"
     OR NEW."environmentSnapshotHash" IS DISTINCT FROM OLD."environmentSnapshotHash"
     OR NEW."taskVersion" IS DISTINCT FROM OLD."taskVersion"
     OR NEW."environmentVersion" IS DISTINCT FROM OLD."environmentVersion"
     OR NEW."taskId" IS DISTINCT FROM OLD."taskId"
     OR NEW."environmentId" IS DISTINCT FROM OLD."environmentId" THEN
    RAISE EXCEPTION 'run % is frozen: its task and environment snapshots cannot change', OLD."id"
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

ALTER TABLE "Run" DROP COLUMN "taskSnapshot", DROP COLUMN "environmentSnapshot";
