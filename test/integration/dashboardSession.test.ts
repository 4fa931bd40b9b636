/**
 * The dashboard's session on the wire (no browser): sign-in through the API key's own
 * authentication, a cookie that stands for the key's organization on every /v1 route,
 * CSRF rules, expiry and revocation, sign-out, and the pages' own HTTP answers.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { startHarness, type Harness } from './harness';
import { createApiKey } from '../../api/auth';
import { createOrganization } from '../../api/tenancy';

let h: Harness;

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'dashboard', 'build.mjs')], { stdio: 'pipe' });
  h = await startHarness({ inProcessWorkers: false });
});
afterAll(async () => {
  await h?.close();
});

async function signIn(key: string): Promise<{ status: number; cookie: string; setCookie: string; body: any }> {
  const res = await fetch(`${h.baseUrl}/v1/session`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { status: res.status, cookie: setCookie.split(';')[0]!, setCookie, body: await res.json().catch(() => null) };
}

const get = (path: string, cookie: string, headers: Record<string, string> = {}) => fetch(`${h.baseUrl}${path}`, { headers: { cookie, ...headers } });

describe('dashboard session', () => {
  it('is opened by an API key, answers who is signed in, and never echoes the key', async () => {
    const s = await signIn(h.org.apiKey);
    expect(s.status).toBe(201);
    expect(s.setCookie).toMatch(/^simlab_session=[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Strict$/);
    expect(s.setCookie).not.toContain(h.org.apiKey);
    expect(JSON.stringify(s.body)).not.toContain(h.org.apiKey);
    expect(s.body).toMatchObject({ organization: { id: h.org.organizationId }, products: [{ slug: h.org.productSlug }], session: false });
    const who = await (await get('/v1/session', s.cookie)).json();
    expect(who).toMatchObject({ organization: { id: h.org.organizationId }, session: true });
    // Every /v1 route works on the cookie, scoped like the key.
    const tasks = await get(`/v1/products/${h.org.productSlug}/tasks`, s.cookie);
    expect(tasks.status).toBe(200);
    // Only the sha256 of the token is stored.
    const token = s.cookie.split('=')[1]!;
    const rows = await h.prisma.dashboardSession.findMany({ where: { organizationId: h.org.organizationId } });
    expect(rows.some((r) => r.id === token)).toBe(false);
    expect(rows.length).toBeGreaterThan(0);
  });

  it('refuses bad sign-ins with 4xx and opens nothing', async () => {
    const before = await h.prisma.dashboardSession.count();
    expect((await signIn('slk_nope')).status).toBe(401);
    const noKey = await fetch(`${h.baseUrl}/v1/session`, { method: 'POST' });
    expect(noKey.status).toBe(401);
    const withBody = await fetch(`${h.baseUrl}/v1/session`, { method: 'POST', headers: { authorization: `Bearer ${h.org.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: h.org.apiKey }) });
    expect(withBody.status).toBe(400);
    expect(await h.prisma.dashboardSession.count()).toBe(before);
    // A session cannot open another: the key is required.
    const s = await signIn(h.org.apiKey);
    const again = await fetch(`${h.baseUrl}/v1/session`, { method: 'POST', headers: { cookie: s.cookie, 'x-simlab-dashboard': '1' } });
    expect(again.status).toBe(400);
    // A garbage cookie is simply not a session.
    for (const c of ['simlab_session=', 'simlab_session=%00%00', `simlab_session=${'x'.repeat(5000)}`, 'simlab_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      expect((await get('/v1/session', c)).status).toBe(401);
    }
  });

  it('requires the dashboard header and this origin on changes made with the cookie', async () => {
    const s = await signIn(h.org.apiKey);
    const post = (headers: Record<string, string>) =>
      fetch(`${h.baseUrl}/v1/products`, { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ slug: `p-${Date.now()}` }) });
    const none = await post({});
    expect(none.status).toBe(403);
    expect(((await none.json()) as any).error.code).toBe('csrf_rejected');
    expect((await post({ 'x-simlab-dashboard': '1', origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ 'x-simlab-dashboard': '1', origin: h.baseUrl })).status).toBe(201);
    // A Bearer key is not a browser's ambient credential: no header needed.
    const keyed = await fetch(`${h.baseUrl}/v1/products`, { method: 'POST', headers: { authorization: `Bearer ${h.org.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ slug: `k-${Date.now()}` }) });
    expect(keyed.status).toBe(201);
  });

  it('ends when its key is revoked, when it expires, and on sign-out', async () => {
    const { key, id } = await createApiKey(h.prisma, h.org.organizationId, 'dashboard-revoke');
    const s = await signIn(key);
    expect((await get('/v1/session', s.cookie)).status).toBe(200);
    await h.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    expect((await get('/v1/session', s.cookie)).status).toBe(401);

    const t = await signIn(h.org.apiKey);
    await h.prisma.dashboardSession.updateMany({ where: { apiKeyId: { not: id }, organizationId: h.org.organizationId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await get('/v1/session', t.cookie)).status).toBe(401);

    const u = await signIn(h.org.apiKey);
    const out = await fetch(`${h.baseUrl}/v1/session`, { method: 'DELETE', headers: { cookie: u.cookie, 'x-simlab-dashboard': '1' } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^simlab_session=; .*Expires=Thu, 01 Jan 1970/);
    expect((await get('/v1/session', u.cookie)).status).toBe(401);
  });

  it("is scoped to its organization: another organization's objects are 404", async () => {
    const other = await createOrganization(h.prisma, { slug: `sess-other-${Date.now()}`, name: 'Other' });
    const envId = await h.createEnvironment();
    const s = await signIn(other.apiKey);
    expect((await get(`/v1/environments/${envId}`, s.cookie)).status).toBe(404);
    expect((await get(`/v1/environments/${envId}`, '', { authorization: `Bearer ${h.org.apiKey}` })).status).toBe(200);
  });

  it('serves the pages with a strict content security policy, and the API 404 elsewhere', async () => {
    for (const p of ['/', '/signin', '/p/default/runs', '/runs/run_x', '/experiments/e/iterations/3']) {
      const res = await fetch(`${h.baseUrl}${p}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'; script-src 'self'/);
      expect(await res.text()).toMatch(/<div id="app"><\/div>/);
    }
    const unknown = await fetch(`${h.baseUrl}/nope/deeper/still`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.code).toBe('not_found');
    expect((await fetch(`${h.baseUrl}/assets/missing-XXXX.js`)).status).toBe(404);
  });
});
