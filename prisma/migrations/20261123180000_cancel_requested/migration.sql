-- A cancel request is recorded at once, so the run shows it and its cleanup stays brief.
ALTER TABLE "Run" ADD COLUMN "cancelRequestedAt" TIMESTAMP(3),
ADD COLUMN "archiveNote" TEXT;
