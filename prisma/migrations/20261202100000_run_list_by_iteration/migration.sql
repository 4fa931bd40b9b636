-- The run list of one iteration, newest first (keyset on createdAt, id), read from the
-- index instead of sorting every run of the iteration: at 10,000 runs the first page's p95
-- was 143 ms while the iteration ran (37.8 ms after), above the 100 ms target.
CREATE INDEX "Run_iterationId_createdAt_id_idx" ON "Run"("iterationId", "createdAt", "id");
