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

// The two halves run side by side (they use different services): the whole file then
// takes about as long as its longer half. Each starts what it needs itself, because
// jest starts concurrent tests before beforeAll hooks have finished.
let h: Harness | undefined;
let hs: Harness | undefined;
const stack = new ChaosStack({ name: 'simlab-chaos-ci', temporalPort: 7241, pgPort: 5441 });

afterAll(async () => {
  await h?.close();
  await hs?.close();
  await stack.down();
}, 90_000);

it.concurrent('runs survive SIGKILLs of their worker: nothing lost, duplicated or leaked', async () => {
  const harness = (h = await startHarness({ inProcessWorkers: false }));
  const report = await runChaos({ harness, trials: 2, seed: 7, runsPerTrial: 2, targets: ['creating_sandbox', 'running'] });
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
  expect(await harness.sandboxesLeft()).toEqual([]);
}, 240_000);

it.concurrent('runs survive restarts of Temporal, PostgreSQL and Docker mid-iteration: right endings, one container each, nothing left', async () => {
  await stack.up();
  const harness = (hs = await startStackHarness(stack));
  const report = await runRestartTrials({ harness, stack, kinds: ['temporal', 'postgres', 'docker'], seed: 11, runsPerTrial: 2, downMs: 4000 });
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
  expect(await harness.sandboxesLeft()).toEqual([]);
}, 240_000);
