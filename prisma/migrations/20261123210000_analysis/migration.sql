-- Analysis: the signal config each iteration froze, each run's analysis, each iteration's
-- results. All three are written once: triggers refuse any update.
CREATE TABLE "IterationSignalConfig" (
    "iterationId" TEXT NOT NULL,
    "text" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "IterationSignalConfig_pkey" PRIMARY KEY ("iterationId")
);
ALTER TABLE "IterationSignalConfig" ADD CONSTRAINT "IterationSignalConfig_iterationId_fkey" FOREIGN KEY ("iterationId") REFERENCES "Iteration"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "RunAnalysis" (
    "runId" TEXT NOT NULL,
    "iterationId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "document" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "RunAnalysis_pkey" PRIMARY KEY ("runId")
);
CREATE INDEX "RunAnalysis_iterationId_idx" ON "RunAnalysis"("iterationId");
ALTER TABLE "RunAnalysis" ADD CONSTRAINT "RunAnalysis_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "IterationResult" (
    "iterationId" TEXT NOT NULL,
    "experimentId" TEXT,
    "number" INTEGER NOT NULL,
    "document" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "IterationResult_pkey" PRIMARY KEY ("iterationId")
);
CREATE INDEX "IterationResult_experimentId_number_idx" ON "IterationResult"("experimentId", "number");
ALTER TABLE "IterationResult" ADD CONSTRAINT "IterationResult_iterationId_fkey" FOREIGN KEY ("iterationId") REFERENCES "Iteration"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE FUNCTION simlab_refuse_update() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% rows are written once and never changed', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER "IterationSignalConfig_frozen" BEFORE UPDATE ON "IterationSignalConfig" FOR EACH ROW EXECUTE FUNCTION simlab_refuse_update();
CREATE TRIGGER "RunAnalysis_frozen" BEFORE UPDATE ON "RunAnalysis" FOR EACH ROW EXECUTE FUNCTION simlab_refuse_update();
CREATE TRIGGER "IterationResult_frozen" BEFORE UPDATE ON "IterationResult" FOR EACH ROW EXECUTE FUNCTION simlab_refuse_update();
