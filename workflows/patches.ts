/**
 * Every `patched()` id of the workflows, with the version that introduced it. A change
 * that would make a running execution replay differently goes behind one of these;
 * the replay tests (test/replay/histories/<version>/) prove old histories still replay.
 * Remove a patch (deprecatePatch, then delete) only once no execution of the older
 * version can still be running.
 */
export const PATCHES = {
  /** v2: the run workflow sets its organization, product, task and environment search attributes. */
  runSearchAttributes: 'simlab-v2-run-search-attributes',
  /** v3: an iteration cancelled after its last run started settles as cancelled, not completed. */
  iterationCancelAfterLastStart: 'simlab-v3-iteration-cancel-after-last-start',
  /** v4: a run of the external harness waits in `running` for a client to drive it through updates. */
  externalHarness: 'simlab-v4-external-harness',
  /** v5: an iteration is a sliding window of abandoned children that continues as new; runs report their end to it. */
  iterationSlidingWindow: 'simlab-v5-iteration-sliding-window',
  /** v5: a run signals its iteration when it ends (the iteration may have continued as new since it started the run). */
  runReportsToIteration: 'simlab-v5-run-reports-to-iteration',
  /** v5: a run claims its Docker host on the claim queue, served only by hosts with a free sandbox slot. */
  hostSlots: 'simlab-v5-host-slots',
  /** v5: sandbox steps make their own status changes (creating_sandbox, running, evaluating, analyzing). */
  stepTransitions: 'simlab-v5-step-transitions',
  /** v5: a run is analysed (signals, friction points) in its analyzing step, or after it failed. */
  runAnalysis: 'simlab-v5-run-analysis',
  /** v5: an ended iteration computes its results, then sends a regression alert (a child of its own). */
  iterationResults: 'simlab-v5-iteration-results',
  /** v6: a completed run's analysis writes its ending too (no transition activity of its own). */
  analysisEndsRun: 'simlab-v6-analysis-ends-run',
} as const;
