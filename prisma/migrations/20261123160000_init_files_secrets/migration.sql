-- Tasks and environments are retired, never deleted: runs keep pointing at them.
ALTER TABLE "Task" ADD COLUMN "retiredAt" TIMESTAMP(3);
ALTER TABLE "Environment" ADD COLUMN "retiredAt" TIMESTAMP(3);

-- Task–environment links.
CREATE TABLE "TaskEnvironment" (
    "taskId" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "TaskEnvironment_pkey" PRIMARY KEY ("taskId","environmentId")
);
CREATE INDEX "TaskEnvironment_environmentId_idx" ON "TaskEnvironment"("environmentId");
ALTER TABLE "TaskEnvironment" ADD CONSTRAINT "TaskEnvironment_taskId_fkey" FOREIGN KEY ("taskId") REFERENCES "Task"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "TaskEnvironment" ADD CONSTRAINT "TaskEnvironment_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Secrets, encrypted at rest. One name per scope: NULLS NOT DISTINCT makes the
-- organization scope (no environment) unique too.
CREATE TABLE "Secret" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "environmentId" TEXT,
    "name" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "iv" BYTEA NOT NULL,
    "ciphertext" BYTEA NOT NULL,
    "tag" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "Secret_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "Secret_organizationId_name_idx" ON "Secret"("organizationId", "name");
CREATE UNIQUE INDEX "Secret_organizationId_environmentId_name_key" ON "Secret"("organizationId", "environmentId", "name") NULLS NOT DISTINCT;
ALTER TABLE "Secret" ADD CONSTRAINT "Secret_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "Secret" ADD CONSTRAINT "Secret_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Uploads (zip init files), content-addressed per organization.
CREATE TABLE "Upload" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "entries" INTEGER NOT NULL,
    "totalBytes" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retiredAt" TIMESTAMP(3),
    CONSTRAINT "Upload_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "Upload_organizationId_sha256_key" ON "Upload"("organizationId", "sha256");
ALTER TABLE "Upload" ADD CONSTRAINT "Upload_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- What a run used is frozen: the database itself refuses any later change of its
-- snapshots, whatever code runs against it.
CREATE FUNCTION simlab_freeze_run_snapshots() RETURNS trigger AS $$
BEGIN
  IF NEW."taskSnapshot" IS DISTINCT FROM OLD."taskSnapshot"
     OR NEW."environmentSnapshot" IS DISTINCT FROM OLD."environmentSnapshot"
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
CREATE TRIGGER "Run_snapshots_frozen" BEFORE UPDATE ON "Run" FOR EACH ROW EXECUTE FUNCTION simlab_freeze_run_snapshots();
