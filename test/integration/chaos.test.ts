/**
 * The short form of the chaos suite (bench/chaos.ts). Two SIGKILL trials on the machine's
 * services: the worker process killed once in provisioning and once while the agent
 * works, each with a second run in flight elsewhere. Then one restart of each service,
 * the Temporal server, PostgreSQL and the Docker engine, mid-iteration, on a private
 * stack this file starts and removes (bench/chaosStack.ts): the services other test
 * files use are never restarted. The long form is `npm run chaos`.
 */
import { startHarness, type Harness } from './harness';
import { formatReport, runChaos, runRestartTrials, startStackHarness, type ChaosReport } from '../../bench/chaos';
import { ChaosStack } from '../../bench/chaosStack';

const LIFECYCLE = ['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed'];

/** The whole table on failure: one broken figure is easier to read beside the others. */
function expectNoProblems(report: ChaosReport) {
  const table = formatReport(report);
  expect({ problems: report.problems, table }).toEqual({ problems: [], table });
}

let h: Harness;
// Started beside the shared harness: the stack's dockerd and Temporal take a while to come up.
const stack = new ChaosStack({ name: 'simlab-chaos-ci', temporalPort: 7241, pgPort: 5441 });
let stackUp: Promise<unknown>;

beforeAll(async () => {
  stackUp = stack.up();
  // Never unhandled: the restart test awaits it and reports its failure.
  stackUp.catch(() => undefined);
  h = await startHarness({ inProcessWorkers: false });
});
afterAll(async () => {
  await h?.close();
  await stack.down();
}, 60_000);

it('runs survive SIGKILLs of their worker: nothing lost, duplicated or leaked', async () => {
  const report = await runChaos({ harness: h, trials: 2, seed: 7, runsPerTrial: 2, targets: ['creating_sandbox', 'running'] });
  expectNoProblems(report);
  expect(report.runs).toHaveLength(4);
  // The kills landed where they were meant to, so both steps are covered on every run of CI.
  expect(report.runs.filter((r) => r.target).map((r) => r.killedIn)).toEqual(['creating_sandbox', 'running']);
  for (const r of report.runs) {
    expect(r).toMatchObject({ status: 'completed', passed: true, failure: null, duplicateStatusRows: 0, seqProblems: [], transcriptOk: true, archiveOk: true });
    expect(r.statusPath).toEqual(LIFECYCLE);
    if (r.killedIn === 'creating_sandbox') expect([1, 2]).toContain(r.containersCreated);
    else expect(r.containersCreated).toBe(1);
  }
  expect(report.wrongBlame).toBe(0);
  expect(report.containersLeft).toBe(0);
  expect(await h.sandboxesLeft()).toEqual([]);
}, 170_000);

it('runs survive restarts of Temporal, PostgreSQL and Docker mid-iteration: right endings, one container each, nothing left', async () => {
  await stackUp;
  const hs = await startStackHarness(stack);
  try {
    const report = await runRestartTrials({ harness: hs, stack, kinds: ['temporal', 'postgres', 'docker'], seed: 11, runsPerTrial: 2, downMs: 4000 });
    console.log(formatReport(report));
    expectNoProblems(report);
    expect(report.runs).toHaveLength(6);
    for (const r of report.runs) {
      // The outage hit while the first run's agent worked, so it really was mid-run.
      if (r.target) expect(r.killedIn).toBe('running');
      expect(r).toMatchObject({ duplicateStatusRows: 0, seqProblems: [], transcriptOk: true, archiveOk: true });
      if (r.fault === 'restart:docker' && r.status === 'failed') {
        // The engine stopped the sandbox under the agent: that is infrastructure, said as such.
        expect(r.failure?.category).toBe('infra');
        expect(r.containersCreated).toBe(1);
      } else {
        // Temporal and PostgreSQL outages of a few seconds are absorbed by retries.
        expect(r).toMatchObject({ status: 'completed', passed: true, failure: null });
        expect(r.statusPath).toEqual(LIFECYCLE);
        expect([1, ...(r.killedIn === 'creating_sandbox' || r.killedIn === 'queued' ? [2] : [])]).toContain(r.containersCreated);
      }
    }
    expect(report.wrongBlame).toBe(0);
    expect(report.containersLeft).toBe(0);
    expect(await hs.sandboxesLeft()).toEqual([]);
  } finally {
    await hs.close();
  }
}, 200_000);
