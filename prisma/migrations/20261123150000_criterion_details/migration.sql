-- For audit: a judge's model, prompt version, raw answer and token usage.
ALTER TABLE "CriterionResult" ADD COLUMN "details" JSONB;
