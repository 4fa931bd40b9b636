/**
 * The dashboard in a real browser (Debian's chromium, headless, driven by puppeteer-core)
 * against the real API, worker, Temporal, Docker and PostgreSQL: data made by real runs.
 * Signs in, visits every screen, starts a run and an iteration from the UI and watches
 * them finish without a reload, reads a transcript, downloads an archive, and checks that
 * another organization's key gets 404 pages. Every screen is saved as a screenshot under
 * test-output/screenshots/ (gitignored) for a person to look at.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startHarness, task, type Harness } from './harness';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createOrganization } from '../../api/tenancy';
import { createAnalysisActivities } from '../../activities/analysisActivities';
import { createExperimentIteration } from '../../store/iterations';
import { runSpecs } from '../../store/experiments';

// The functions handed to page.evaluate run in the browser; their globals, for this Node-typed file.
declare const document: any, location: any, window: any, localStorage: any, sessionStorage: any;

const ROOT = path.join(__dirname, '..', '..');
const SHOTS = path.join(ROOT, 'test-output', 'screenshots');
const CHROMIUM = process.env.SIMLAB_CHROMIUM ?? '/usr/bin/chromium';

let h: Harness;
let browser: Browser;
let page: Page;
let downloads: string;
const data = {} as { envId: string; taskId: string; runId: string; iterationId: string; expId: string; expIterationId: string; run: any; streamRunId: string; expIteration2Id: string };

async function shot(p: Page, name: string) {
  await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const bodyText = (p: Page) => p.evaluate(() => document.body.innerText);

async function waitForText(p: Page, text: string | RegExp, timeout = 20_000) {
  const src = typeof text === 'string' ? { s: text } : { r: text.source, f: text.flags };
  try {
    await p.waitForFunction(
      (m: { s?: string; r?: string; f?: string }) => (m.s !== undefined ? document.body.innerText.includes(m.s) : new RegExp(m.r!, m.f).test(document.body.innerText)),
      { timeout, polling: 200 },
      src,
    );
  } catch (err) {
    // Say what the page showed instead, and keep a picture of it.
    await shot(p, `failed-${Date.now()}`).catch(() => undefined);
    throw new Error(`${p.url()} never showed ${String(text)}; it shows:\n${(await bodyText(p).catch(() => '')).slice(0, 3000)}\n(${(err as Error).message})`);
  }
}

/** Follows an in-app link by its visible text, as a person would. */
async function clickLink(p: Page, text: string) {
  const links = await p.$$('a');
  for (const a of links) {
    if ((await a.evaluate((el) => (el as any).innerText.trim())) === text) {
      await a.click();
      return;
    }
  }
  throw new Error(`no link '${text}' on ${p.url()}`);
}

async function signIn(p: Page, key: string) {
  await p.goto(`${h.baseUrl}/`);
  await p.waitForSelector('#apiKey');
  await p.type('#apiKey', key);
  await p.keyboard.press('Enter');
  await p.waitForFunction(() => location.pathname.endsWith('/runs'), { timeout: 15_000 });
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (infra/test.sh does) or set SIMLAB_CHROMIUM`);
  execFileSync(process.execPath, [path.join(ROOT, 'dashboard', 'build.mjs')], { stdio: 'pipe' });
  fs.mkdirSync(SHOTS, { recursive: true });
  downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-dashboard-dl-'));
  h = await startHarness();

  // Data made by real runs: a run with a transcript, a diff and an archive, and an experiment iteration.
  data.envId = await h.createEnvironment({ name: 'busybox-agent', agent: { harness: 'command', command: 'echo working; echo hello > hello.txt; echo fixed > notes.txt; echo done' } });
  data.taskId = await h.createTask(
    task([{ name: 'says hello', evaluationType: 'bash_command', command: 'grep -qx hello hello.txt && echo hello found' }], {
      name: 'Dashboard hello',
      initCommands: [{ command: 'printf "draft\\n" > notes.txt' }],
    }),
  );
  data.runId = (await h.runTask(data.taskId, [data.envId]))[0]!;
  data.run = await h.waitForRun(data.runId);
  data.iterationId = data.run.iterationId;
  // An agent's messages, thinking and tool calls: a command agent printing a claude-code stream.
  const stream = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'claude-code-stream.jsonl'));
  const streamEnv = await h.createEnvironment({ name: 'stream-agent', agent: { harness: 'command', outputFormat: 'claude-code-stream-json', command: `echo ${stream.toString('base64')} | base64 -d` } });
  const streamTask = await h.createTask(task([{ name: 'ran', evaluationType: 'comparison', metric: 'tool_calls', operator: 'eq', value: 3 }], { name: 'Dashboard stream' }));
  data.streamRunId = (await h.runTask(streamTask, [streamEnv]))[0]!;
  await h.waitForRun(data.streamRunId);
  const exp = await h.api('POST', `/products/${h.org.productSlug}/experiments`, { name: 'nightly hello', taskIds: [data.taskId], environmentIds: [data.envId], repeats: 1 });
  data.expId = exp.body.id;
  const it = await h.api('POST', `/experiments/${data.expId}/iterations`, {});
  data.expIterationId = it.body.iterationId;
  const [expRun] = (await h.api('GET', `/products/${h.org.productSlug}/runs?iterationId=${data.expIterationId}`)).body.items;
  await h.waitForRun(expRun.id);

  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 900 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  fs.rmSync(downloads, { recursive: true, force: true });
});

describe('dashboard', () => {
  it('completed the seed run it shows', () => {
    expect(data.run).toMatchObject({ status: 'completed', verdict: 'passed' });
  });

  it('signs in with an API key into an HttpOnly, SameSite=Strict session cookie that is not the key', async () => {
    await page.goto(`${h.baseUrl}/runs/${data.runId}`);
    // Not signed in: sent to the sign-in page, which will come back here.
    await page.waitForSelector('#apiKey');
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(new URL(page.url()).searchParams.get('next')).toBe(`/runs/${data.runId}`);
    await shot(page, '01-signin');

    await page.type('#apiKey', 'slk_not-a-real-key');
    await page.click('button[type=submit]');
    await waitForText(page, 'not valid');

    await page.$eval('#apiKey', (el) => ((el as any).value = ''));
    await page.type('#apiKey', h.org.apiKey);
    await page.click('button[type=submit]');
    await page.waitForFunction((id: string) => location.pathname === `/runs/${id}`, {}, data.runId);
    await waitForText(page, 'Goals and criteria');

    const cookies = await page.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'simlab_session', httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookies[0]!.value).not.toContain(h.org.apiKey);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie + location.href);
    expect(stored).not.toContain(h.org.apiKey);
    expect(stored).not.toContain('simlab_session');
  });

  it('shows a run: score, verdict, criteria with evidence, history, usage, transcript, actions, changes, Temporal link', async () => {
    const text = await bodyText(page);
    expect(text).toContain('Dashboard hello');
    expect(text).toContain('busybox-agent');
    expect(text).toMatch(/score 100/);
    expect(text).toContain('says hello');
    expect(text).toContain('hello found');
    for (const s of ['Status history', 'Usage and cost', 'Transcript', 'Actions', 'Workspace changes']) expect(text).toContain(s);
    // The transcript's timeline: status changes, setup, the agent's output.
    await waitForText(page, 'working\ndone');
    expect(await bodyText(page)).toMatch(/COMMAND OUTPUT|Command output/i);
    // Workspace changes: hello.txt added, notes.txt changed with its diff behind a disclosure.
    expect(text).toMatch(/1 added · 1 changed · 0 deleted/);
    // The run's analysis, as the API has it.
    const analysis = await h.api('GET', `/runs/${data.runId}/analysis`);
    expect(analysis.status).toBe(200);
    await waitForText(page, analysis.body.status === 'pending' ? 'Analysed when the run ends.' : 'Friction points');
    await page.click('ul.changes details summary');
    await waitForText(page, '+fixed');
    const temporal = await page.$eval('a[href*="8233"]', (a) => (a as any).href);
    expect(temporal).toContain(`simlab-run-${data.runId}`);
    await shot(page, '02-run');
  });

  it("shows an agent's messages, collapsed thinking, tool calls with their results, usage and cost", async () => {
    await page.goto(`${h.baseUrl}/runs/${data.streamRunId}`);
    await waitForText(page, 'Let me look at the project.');
    await waitForText(page, 'Fixed add() in calc.py.');
    const text = await bodyText(page);
    expect(text).toContain('Fixed add() in calc.py.');
    expect(text).toMatch(/Tool call Bash/i);
    expect(text).toMatch(/Tool call Edit/i);
    expect(text).toContain('$0.0231');
    expect(text).toContain('5,400');
    // Thinking is collapsed until asked for (a closed <details>: its text is in the page, not shown).
    const openDetails = (sel: string) => page.$$eval(sel, (ds: any[]) => ds.map((d) => d.open as boolean));
    expect(await openDetails('li.ev-thinking details')).toEqual([false]);
    await page.click('li.ev-thinking summary');
    expect(await openDetails('li.ev-thinking details')).toEqual([true]);
    expect(await page.$eval('li.ev-thinking pre', (el: any) => el.checkVisibility())).toBe(true);
    expect(await page.$eval('li.ev-thinking pre', (el: any) => el.innerText)).toBe('I should look at the project first.');
    // Tool results sit under their calls, collapsed too: three calls, three results.
    expect(await openDetails('li.ev-tool details')).toEqual([false, false, false]);
    for (const r of await page.$$('li.ev-tool details summary')) await r.click();
    expect(await openDetails('li.ev-tool details')).toEqual([true, true, true]);
    await waitForText(page, 'return a - b');
    await shot(page, '02b-run-transcript');
    await page.goto(`${h.baseUrl}/runs/${data.runId}`);
    await waitForText(page, 'Goals and criteria');
  });

  it('downloads the archive through the session', async () => {
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await page.click('a.button[href$="/artifacts/archive"]');
    const file = path.join(downloads, `${data.runId}-home.tar.gz`);
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(fs.existsSync(file)).toBe(true);
    expect(createHash('sha256').update(fs.readFileSync(file)).digest('hex')).toBe(data.run.artifacts.archive.sha256);
  });

  it('lists runs, tasks and environments of the product, paged', async () => {
    await clickLink(page, 'Runs');
    await page.waitForFunction(() => location.pathname.endsWith('/runs'));
    await waitForText(page, data.runId);
    await waitForText(page, 'Dashboard hello');
    await shot(page, '03-runs');

    await clickLink(page, 'Tasks');
    await waitForText(page, 'Dashboard hello');
    await shot(page, '04-tasks');
    await clickLink(page, 'Environments');
    await waitForText(page, 'busybox-agent');
    await shot(page, '05-environments');
    await clickLink(page, 'busybox-agent');
    await waitForText(page, 'Runs on this environment');
    await waitForText(page, 'echo working');
    await shot(page, '06-environment');
  });

  it('starts a run of a task from its page and follows it live to the end, without reloading', async () => {
    await page.goto(`${h.baseUrl}/tasks/${data.taskId}`);
    await waitForText(page, 'Run this task');
    expect(await bodyText(page)).toContain('Write hello into hello.txt');
    await shot(page, '07-task');
    // Nothing linked: the environment is chosen here.
    await page.click(`input[type=checkbox][value="${data.envId}"]`);
    await page.evaluate(() => ((window as any).__notReloaded = true));
    await page.click('form.start-run button[type=submit]');
    await page.waitForFunction(() => location.pathname.startsWith('/runs/'), { timeout: 15_000 });
    const runId = new URL(page.url()).pathname.split('/')[2]!;
    expect(runId).not.toBe(data.runId);
    await page.waitForFunction(() => document.querySelector('.summary .badge')?.textContent === 'completed', { timeout: 120_000, polling: 250 });
    await waitForText(page, 'score 100', 30_000);
    expect(await page.evaluate(() => (window as any).__notReloaded)).toBe(true);
    // The transcript followed it too: its last status event is there.
    await page.waitForFunction(() => [...document.querySelectorAll('ol.timeline .badge')].some((b: any) => b.textContent === 'completed'), { timeout: 15_000 });
    const run = (await h.api('GET', `/runs/${runId}`)).body;
    expect(run).toMatchObject({ status: 'completed', verdict: 'passed', taskId: data.taskId, environmentId: data.envId });
    await shot(page, '08-run-started-from-ui');
  });

  it('shows experiments, an experiment with its iterations and trend, and runs a new iteration with live progress', async () => {
    await page.goto(`${h.baseUrl}/p/${h.org.productSlug}/experiments`);
    await waitForText(page, 'nightly hello');
    await shot(page, '09-experiments');
    await clickLink(page, 'nightly hello');
    await waitForText(page, 'Trend across iterations');
    await page.waitForSelector('figure.chart svg circle');
    await waitForText(page, 'Dashboard hello');
    await waitForText(page, 'busybox-agent');
    expect(await bodyText(page)).toMatch(/100%/);
    await shot(page, '10-experiment');

    await page.evaluate(() => ((window as any).__notReloaded = true));
    await page.click('.actions-bar button');
    await page.waitForFunction(() => location.pathname.startsWith('/iterations/'), { timeout: 15_000 });
    data.expIteration2Id = new URL(page.url()).pathname.split('/')[2]!;
    await waitForText(page, /Iteration 2/);
    await waitForText(page, '1 of 1 runs ended', 120_000);
    await waitForText(page, /Pass rate\s*100%/);
    expect(await page.evaluate(() => (window as any).__notReloaded)).toBe(true);
    await waitForText(page, 'Runs of iteration 2');
    await shot(page, '11-iteration');
  });

  it("shows an experiment iteration's results and its comparison with an earlier one", async () => {
    // Results are stored just after an iteration's last run ends, by its workflow; where the
    // workflow has not got to it yet, the same activity computes them here (it is idempotent).
    const results = () => h.api('GET', `/experiments/${data.expId}/results?iteration=2&compare=1`);
    let api = await results();
    for (const deadline = Date.now() + 10_000; api.status === 409 && Date.now() < deadline; api = await results()) await new Promise((r) => setTimeout(r, 500));
    if (api.status === 409) {
      const analysis = createAnalysisActivities({ prisma: h.prisma });
      for (const iterationId of [data.expIterationId, data.expIteration2Id]) await new MockActivityEnvironment().run(analysis.computeIterationResults, { iterationId });
      api = await results();
    }
    expect(api.status).toBe(200);
    await page.goto(`${h.baseUrl}/experiments/${data.expId}/iterations/2?compare=1`);
    await waitForText(page, 'Iteration 2 results');
    // The summary table, pass rate by environment, score distributions, clusters, the comparison.
    await waitForText(page, 'Task × environment × variant');
    await waitForText(page, 'Iteration 2 against 1');
    await waitForText(page, 'Dashboard hello');
    const text = await bodyText(page);
    for (const s of ['Pass rate by environment', 'Score distributions', 'Failure clusters', 'No failures to cluster.', '100% (']) expect(text).toContain(s);
    // The comparison row says what the API's statistics say.
    const row = api.body.comparison.rows[0];
    expect(text).toContain(row.significant ? row.direction : row.verdict.replace(/_/g, ' '));
    expect(await page.$$eval('.strip svg line.tick', (ticks: any[]) => ticks.length)).toBe(1);
    // The baseline is chosen on the page and kept in its URL.
    await page.select('#cmp-base', '');
    await page.waitForFunction(() => !location.search.includes('compare'));
    await waitForText(page, 'Baseline');
    expect(await bodyText(page)).not.toContain('Iteration 2 against 1');
    await shot(page, '16-iteration-results');
  });

  it('opens the first iteration by URL and lists its runs', async () => {
    await page.goto(`${h.baseUrl}/iterations/${data.iterationId}`);
    await waitForText(page, data.runId);
    expect(await bodyText(page)).toMatch(/1 of 1\s+runs ended/);
  });

  it('is keyboard navigable and fits a narrow screen', async () => {
    await page.goto(`${h.baseUrl}/runs/${data.runId}`);
    await waitForText(page, 'Goals and criteria');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    // Tab onward reaches the header's controls and links, each focusable.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.tagName)).toMatch(/^(A|BUTTON|SELECT|SUMMARY)$/);

    await page.setViewport({ width: 390, height: 844 });
    await page.reload();
    await waitForText(page, 'Goals and criteria');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await shot(page, '12-run-narrow');
    await page.goto(`${h.baseUrl}/p/${h.org.productSlug}/runs`);
    await waitForText(page, data.runId);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(1);
    await shot(page, '13-runs-narrow');
    await page.setViewport({ width: 1366, height: 900 });
  });

  it('refuses a mutating request on the cookie without the dashboard header or from another origin', async () => {
    const runsOfTask = async () => (await h.api('GET', `/products/${h.org.productSlug}/runs?taskId=${data.taskId}`)).body.items.length;
    const before = await runsOfTask();
    const status = await page.evaluate(async (taskId: string) => {
      const r = await fetch(`/v1/tasks/${taskId}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return r.status;
    }, data.taskId);
    expect(status).toBe(403);
    const cookie = (await page.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const cross = await fetch(`${h.baseUrl}/v1/tasks/${data.taskId}/runs`, {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.example', 'x-simlab-dashboard': '1', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(cross.status).toBe(403);
    // Nothing was started by either.
    expect(await runsOfTask()).toBe(before);
    // Reads on the cookie work exactly like the key's.
    const read = await fetch(`${h.baseUrl}/v1/runs/${data.runId}`, { headers: { cookie } });
    expect(read.status).toBe(200);
  });

  it("gives another organization's key 404 pages for this organization's objects", async () => {
    const other = await createOrganization(h.prisma, { slug: `dash-other-${Date.now()}`, name: 'Other org' });
    const ctx = await browser.createBrowserContext();
    const p = await ctx.newPage();
    await p.setViewport({ width: 1366, height: 900 });
    await signIn(p, other.apiKey);
    await waitForText(p, 'No runs');
    expect(await bodyText(p)).not.toContain(data.runId);
    const pages = [`/runs/${data.runId}`, `/iterations/${data.iterationId}`, `/experiments/${data.expId}`, `/tasks/${data.taskId}`, `/environments/${data.envId}`];
    for (const [i, u] of pages.entries()) {
      await p.goto(`${h.baseUrl}${u}`);
      await waitForText(p, /404: .* not found/);
      const text = await bodyText(p);
      expect(text).not.toContain('Dashboard hello');
      expect(text).not.toContain('busybox-agent');
      if (i === 0) await shot(p, '14-other-org-404');
    }
    await ctx.close();
  });

  it('signs out: the cookie is cleared and its session ended on the server', async () => {
    const cookie = (await page.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    await page.goto(`${h.baseUrl}/p/${h.org.productSlug}/runs`);
    await waitForText(page, data.runId);
    const signOut = await page.$$('header button');
    await signOut[signOut.length - 1]!.click();
    await page.waitForSelector('#apiKey');
    expect(await page.cookies()).toHaveLength(0);
    const after = await fetch(`${h.baseUrl}/v1/session`, { headers: { cookie } });
    expect(after.status).toBe(401);
    await shot(page, '15-signed-out');
  });

  it('stays fast on a 10,000-run iteration: counts from the database, runs a page at a time', async () => {
    // 10,000 runs (2 environments x 5,000 repeats), ended in the database: 70% passed,
    // 20% failed verdicts, 10% failed runs.
    const envB = await h.createEnvironment({ name: 'bulk-b' });
    const [taskRow, envRows] = await Promise.all([h.prisma.task.findUniqueOrThrow({ where: { id: data.taskId } }), h.prisma.environment.findMany({ where: { id: { in: [data.envId, envB] } } })]);
    const exp = (await h.api('POST', `/products/${h.org.productSlug}/experiments`, { name: 'ten thousand', taskIds: [data.taskId], environmentIds: [data.envId, envB] })).body;
    // One run per environment the way an experiment makes them, then copied 4,999 times each in
    // one statement (creating 10,000 in one transaction is the launcher's business, not this test's).
    const specs = runSpecs({ tasks: [taskRow], environments: envRows, variants: [{ name: 'base', override: {} }], repeats: 1 });
    const it = await createExperimentIteration(h.prisma, { organizationId: h.org.organizationId, productId: h.org.productId, experimentId: exp.id, specs });
    const columns: { column_name: string }[] = await h.prisma.$queryRawUnsafe(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'Run'`);
    const copied = (c: string) => (c === 'id' || c === 'workflowId' ? `r."${c}" || '-' || g` : c === 'repeat' ? 'g' : `r."${c}"`);
    await h.prisma.$executeRawUnsafe(
      `INSERT INTO "Run" (${columns.map((c) => `"${c.column_name}"`).join(', ')})
       SELECT ${columns.map((c) => copied(c.column_name)).join(', ')} FROM "Run" r, generate_series(2, 5000) g WHERE r."iterationId" = $1`,
      it.iterationId,
    );
    await h.prisma.iteration.update({ where: { id: it.iterationId }, data: { runCount: 10_000 } });
    expect(await h.prisma.run.count({ where: { iterationId: it.iterationId } })).toBe(10_000);
    await h.prisma.$executeRawUnsafe(
      `UPDATE "Run" SET status = CASE WHEN repeat % 10 = 0 THEN 'failed' ELSE 'completed' END,
         passed = CASE WHEN repeat % 10 = 0 THEN NULL ELSE repeat % 10 < 8 END,
         score = CASE WHEN repeat % 10 = 0 THEN NULL ELSE (repeat % 10) * 11 END,
         "failureCategory" = CASE WHEN repeat % 10 = 0 THEN 'infra' ELSE NULL END,
         "startedAt" = now() - interval '1 hour', "finishedAt" = now()
       WHERE "iterationId" = $1`,
      it.iterationId,
    );
    await h.prisma.iteration.update({ where: { id: it.iterationId }, data: { status: 'completed', startedAt: new Date(Date.now() - 3600_000), finishedAt: new Date() } });

    const p = await browser.newPage();
    await p.setViewport({ width: 1366, height: 900 });
    await signIn(p, h.org.apiKey);
    let t0 = Date.now();
    await p.goto(`${h.baseUrl}/iterations/${it.iterationId}`);
    await waitForText(p, '10000 of 10000');
    await waitForText(p, 'Runs of iteration');
    await p.waitForFunction(() => document.querySelectorAll('.runs tbody tr').length === 25);
    const iterationMs = Date.now() - t0;
    expect(await bodyText(p)).toMatch(/Pass rate\s*77\.8%/);
    // The next page comes by cursor, not by loading the rest.
    const firstRun = await p.$eval('.runs tbody tr a', (a: any) => a.textContent);
    await p.click('.pager button:last-child');
    await p.waitForFunction((id: string) => document.querySelector('.runs tbody tr a')?.textContent !== id, {}, firstRun);
    await waitForText(p, 'Page 2');
    await shot(p, '17-iteration-10000-runs');
    t0 = Date.now();
    await p.goto(`${h.baseUrl}/p/${h.org.productSlug}/runs`);
    await p.waitForFunction(() => document.querySelectorAll('.runs tbody tr').length === 25);
    const runsMs = Date.now() - t0;
    t0 = Date.now();
    await p.goto(`${h.baseUrl}/experiments/${exp.id}`);
    await waitForText(p, 'Iterations');
    await p.waitForFunction(() => [...document.querySelectorAll('td.num')].some((td: any) => td.textContent === '10000'));
    const experimentMs = Date.now() - t0;
    console.log(`[dashboard] 10,000-run iteration: iteration page ${iterationMs} ms, runs page ${runsMs} ms, experiment page ${experimentMs} ms`);
    // Generous bounds for a shared 2-core machine; what matters is that nothing grows with the run count.
    expect(iterationMs).toBeLessThan(10_000);
    expect(runsMs).toBeLessThan(10_000);
    await p.close();
  });
});
