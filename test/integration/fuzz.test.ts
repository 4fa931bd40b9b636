/**
 * Bad input over every route: generated malformed bodies, query strings and paths must each
 * get a 4xx with the stable error body, write nothing, and log nothing (the API logs only
 * its own 500s).
 */
import { startHarness, task, type Harness } from './harness';

let h: Harness;
let ids: Record<string, string>;
beforeAll(async () => {
  h = await startHarness();
  const envId = await h.createEnvironment({ name: 'fuzz-env' });
  const taskId = await h.createTask(task([{ name: 'g', evaluationType: 'file_exists', path: 'x' }], { name: '100% done_x' }));
  await h.createTask(task([{ name: 'g', evaluationType: 'file_exists', path: 'x' }], { name: '100 percent done' }));
  const [runId] = await h.runTask(taskId, [envId]);
  const run = await h.waitForRun(runId!);
  const exp = await h.api('POST', `/products/${h.org.productSlug}/experiments`, { name: 'fuzz-exp', taskIds: [taskId], environmentIds: [envId] });
  if (exp.status !== 201) throw new Error(`experiment not created: ${JSON.stringify(exp.body)}`);
  ids = { task: taskId, env: envId, run: runId!, iter: run.iterationId, product: h.org.productSlug, exp: exp.body.id };
});
afterAll(async () => {
  await h?.close();
});

async function counts() {
  const where = { organizationId: h.org.organizationId };
  return Promise.all([
    h.prisma.task.count({ where }),
    h.prisma.environment.count({ where }),
    h.prisma.run.count({ where }),
    h.prisma.iteration.count({ where }),
    h.prisma.secret.count({ where }),
    h.prisma.upload.count({ where }),
    h.prisma.taskEnvironment.count({ where: { task: where } }),
    h.prisma.product.count({ where }),
    h.prisma.experiment.count({ where }),
    h.prisma.experimentVariant.count({ where: { experiment: where } }),
    h.prisma.experimentTask.count({ where: { experiment: where } }),
    h.prisma.experimentSchedule.count({ where: { experiment: where } }),
    h.prisma.experimentWebhook.count({ where: { experiment: where } }),
    h.prisma.experiment.findMany({ where, select: { signalConfig: true, name: true } }),
  ]);
}

async function raw(method: string, path: string, body?: string | Buffer, contentType = 'application/json') {
  const res = await fetch(`${h.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${h.org.apiKey}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // reported below
  }
  return { status: res.status, json, text };
}

const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

/** Valid bodies per write route, which the generator corrupts one way at a time. */
const writeRoutes = () => [
  ['POST', `/v1/products/${ids.product}/tasks`, task([{ name: 'g', evaluationType: 'file_exists', path: 'x' }])],
  ['PATCH', `/v1/tasks/${ids.task}`, { name: 'renamed' }],
  ['POST', `/v1/tasks/${ids.task}/runs`, { environmentIds: [ids.env] }],
  ['POST', `/v1/tasks/${ids.task}/environments`, { environmentId: ids.env }],
  ['POST', `/v1/products/${ids.product}/environments`, { name: 'e', agent: { harness: 'command', command: 'true' } }],
  ['PATCH', `/v1/environments/${ids.env}`, { name: 'renamed' }],
  ['PUT', '/v1/secrets/FUZZ_SECRET', { value: 'a-secret-value' }],
  ['POST', '/v1/products', { slug: 'fuzz-product' }],
  ['POST', `/v1/products/${ids.product}/experiments`, { name: 'fuzz-exp-2', repeats: 2 }],
  ['POST', `/v1/experiments/${ids.exp}/variants`, { name: 'v1', override: { prompt: 'say hi' } }],
  ['POST', `/v1/experiments/${ids.exp}/tasks`, { taskId: ids.task }],
  ['POST', `/v1/experiments/${ids.exp}/schedules`, { cron: '0 2 * * *', timezone: 'Europe/Paris' }],
  ['PUT', `/v1/experiments/${ids.exp}/webhook`, { url: 'https://example.com/hook' }],
  ['PUT', `/v1/experiments/${ids.exp}/signal-config`, { signalConfig: 'signals: []\n' }],
  ['POST', `/v1/products/${ids.product}/simulations`, { task: task([{ name: 'g', evaluationType: 'file_exists', path: 'x' }]), environmentIds: [ids.env] }],
] as const;

function corruptions(body: Record<string, unknown>): [string, string, string?][] {
  const json = JSON.stringify(body);
  const firstString = json.match(/"([^"\\]*)"\s*:\s*"([^"\\]*)"/);
  const withValue = (v: string) => (firstString ? json.replace(`"${firstString[2]}"`, v) : json);
  return [
    ['NUL in a string', withValue('"a\\u0000b"')],
    ['lone surrogate', withValue('"a\\ud800b"')],
    ['NUL in a key', json.replace(/^\{/, '{"k\\u0000":1,')],
    ['nested 5000 deep', json.replace(/^\{/, `{"schema":${deep(5000)},`)],
    ['not JSON', json.slice(0, -3)],
    ['an array', `[${json}]`],
    ['a string', '"hello"'],
    ['unknown field', json.replace(/^\{/, '{"surprise":true,')],
    ['wrong type', withValue('12345')],
    ['form encoded', 'a=1&b=2', 'application/x-www-form-urlencoded'],
    ['text', json, 'text/plain'],
    ['unsupported charset', json, 'application/json; charset=ebcdic'],
  ];
}

describe('bad input is a 4xx, never a 500, and costs nothing', () => {
  it('survives every corruption of every write route', async () => {
    const errors = jest.spyOn(console, 'error');
    const before = await counts();
    const failures: string[] = [];
    let cases = 0;
    for (const [method, path, body] of writeRoutes()) {
      for (const [what, text, type] of corruptions(body as Record<string, unknown>)) {
        // A corruption that happens to leave a valid document is not a bad input.
        if (text === JSON.stringify(body) && !type) continue;
        cases++;
        const res = await raw(method, path, text, type);
        if (res.status < 400 || res.status >= 500 || typeof res.json?.error?.code !== 'string') failures.push(`${method} ${path} [${what}] -> ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(cases).toBeGreaterThan(90);
    expect(await counts()).toEqual(before);
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();
  });

  it('refuses malformed paths and query strings', async () => {
    const errors = jest.spyOn(console, 'error');
    const before = await counts();
    const cases: [string, string, number][] = [
      ['GET', '/v1/runs/%E0%A4%A', 400],
      ['GET', '/v1/tasks/%FF', 400],
      ['GET', '/v1/runs/%00', 400],
      ['GET', '/v1/runs/a%ED%A0%80b', 400],
      ['GET', `/v1/products/${ids.product}/runs?status=running&status=running`, 400],
      ['GET', `/v1/products/${ids.product}/runs?taskId=a%00b`, 400],
      ['GET', `/v1/products/${ids.product}/runs?status=bogus`, 400],
      ['GET', `/v1/products/${ids.product}/runs?limit=abc`, 400],
      ['GET', `/v1/products/${ids.product}/tasks?limit=1&limit=2`, 400],
      ['GET', `/v1/runs/${ids.run}/events?after=-1`, 400],
      ['GET', `/v1/runs/${ids.run}/events?limit=100000`, 400],
      ['POST', `/v1/runs/${ids.run}/cancel?x=%ED%A0%80`, 409],
      ['GET', '/v1/secrets?environmentId=', 200],
    ];
    const got = [];
    for (const [method, path, expected] of cases) {
      const res = await raw(method, path);
      got.push([path, res.status, res.status < 500 && (res.status < 400 || typeof res.json?.error?.code === 'string')]);
      expect([path, res.status]).toEqual([path, expected]);
    }
    expect(got.every(([, , ok]) => ok)).toBe(true);
    expect(await counts()).toEqual(before);
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();
  });

  it('takes a search literally: % and _ are not wildcards', async () => {
    const res = await raw('GET', `/v1/products/${ids.product}/tasks?search=${encodeURIComponent('%')}`);
    expect(res.json.items.map((t: any) => t.name)).toEqual(['100% done_x']);
    const underscore = await raw('GET', `/v1/products/${ids.product}/tasks?search=${encodeURIComponent('done_')}`);
    expect(underscore.json.items.map((t: any) => t.name)).toEqual(['100% done_x']);
  });

  it('answers a 404 for many unknown ids without echoing them all', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `env_unknown${i}`);
    const res = await raw('POST', `/v1/tasks/${ids.task}/runs`, JSON.stringify({ environmentIds: many }));
    expect(res.status).toBe(404);
    expect(res.text.length).toBeLessThan(2000);
  });
});
