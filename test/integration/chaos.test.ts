/**
 * The short form of the chaos suite (bench/chaos.ts): two trials, the worker process
 * SIGKILLed once in provisioning and once while the agent works, each with a second run
 * in flight elsewhere. The long form with random kill points is `node dist/bench/chaos.js`.
 */
import { startHarness, type Harness } from './harness';
import { formatReport, runChaos, type ChaosReport } from '../../bench/chaos';

let h: Harness;
let report: ChaosReport;

beforeAll(async () => {
  h = await startHarness({ inProcessWorkers: false });
});
afterAll(async () => {
  await h?.close();
});

it('runs survive SIGKILLs of their worker: nothing lost, duplicated or leaked', async () => {
  report = await runChaos({ harness: h, trials: 2, seed: 7, runsPerTrial: 2, targets: ['creating_sandbox', 'running'] });
  // The whole table on failure: one broken figure is easier to read beside the others.
  const table = formatReport(report);
  expect({ problems: report.problems, table }).toEqual({ problems: [], table });
  expect(report.runs).toHaveLength(4);
  // The kills landed where they were meant to, so both steps are covered on every run of CI.
  expect(report.runs.filter((r) => r.target).map((r) => r.killedIn)).toEqual(['creating_sandbox', 'running']);
  for (const r of report.runs) {
    expect(r).toMatchObject({ status: 'completed', passed: true, failure: null, duplicateStatusRows: 0, seqProblems: [], transcriptOk: true, archiveOk: true });
    expect(r.statusPath).toEqual(['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed']);
    if (r.killedIn === 'creating_sandbox') expect([1, 2]).toContain(r.containersCreated);
    else expect(r.containersCreated).toBe(1);
  }
  expect(report.wrongBlame).toBe(0);
  expect(report.containersLeft).toBe(0);
  expect(await h.sandboxesLeft()).toEqual([]);
}, 170_000);
