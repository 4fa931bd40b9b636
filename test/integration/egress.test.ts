/**
 * The network egress policy on the real Docker engine and the host's real firewall.
 * Destinations stand in as local servers: a network namespace made here holds the
 * "outside world" (198.51.100.2, documentation addresses that nothing else uses, with an
 * allowed and a forbidden server) and a fake cloud metadata service on 169.254.169.254
 * (routed into that namespace, so nothing ever leaves this machine, and a hole in the
 * rules would show as an answer); an HTTP server on all of the host's addresses stands in
 * for the API, next to the real PostgreSQL and Temporal ports.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { DockerSandboxProvider, HomeDisks, SandboxNetworks, type Sandbox, type SandboxSpec } from '../../sandbox';
import { hostNetworks } from '../../egress/destinations';
import { gitCheckout } from '../../setup/initFiles/git';
import { EnvironmentConfigError, SetupError } from '../../domain/errors';
import { newId } from '../../domain/ids';
import { startGitServer, type GitServer } from './gitServer';
import { startHarness, task, type Harness } from './harness';
import { SANDBOX_IMAGE } from './env';

const sh = promisify(execFile);
const suffix = randomBytes(3).toString('hex');
const NS = `slt-${suffix}`;
// A veth name: the host does not count it among its own networks (it leads to the stand-in outside).
const VETH_HOST = `vethslt${suffix}`;
const OUTSIDE = '198.51.100.2';
const METADATA = '169.254.169.254';
const hostId = `egress-${suffix}`;
const deploymentId = `egress-${suffix}`;

const docker = new Docker();
let networks: SandboxNetworks;
let sandboxes: DockerSandboxProvider;
let diskRoot: string;
let outsideServers: ReturnType<typeof execFile> | undefined;
let hostService: http.Server;
let hostServicePort: number;
let proxyPort: number;
const refusals: string[] = [];

/** A tiny HTTP server per port=body pair, each answering its body: which server answered is visible. */
const SERVERS_PY = `
import http.server, sys, threading
def serve(port, body):
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.send_header('content-length', str(len(body))); self.end_headers(); self.wfile.write(body.encode())
        def log_message(self, *a): pass
    http.server.ThreadingHTTPServer(('0.0.0.0', int(port)), H).serve_forever()
for arg in sys.argv[1:]:
    p, b = arg.split('=')
    threading.Thread(target=serve, args=(p, b), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
`;

/**
 * Runs probes in parallel inside the sandbox and returns each one's outcome: `tcp h:p` (a
 * direct connection), `get URL` (urllib, through HTTP_PROXY when the sandbox has one) and
 * `connect h:p` (a CONNECT tunnel through the proxy, then a GET inside it).
 */
const PROBE_PY = `
import json, os, socket, sys, urllib.request, urllib.error
from concurrent.futures import ThreadPoolExecutor
def tcp(t):
    h, p = t.rsplit(':', 1); s = socket.socket(); s.settimeout(3)
    try:
        s.connect((h, int(p))); return 'open'
    except socket.timeout: return 'timeout'
    except OSError as e: return type(e).__name__
    finally: s.close()
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=6) as r: return '%d %s' % (r.status, r.read().decode().strip())
    except urllib.error.HTTPError as e: return '%d %s' % (e.code, e.read().decode().strip())
    except Exception as e: return type(e).__name__
def connect(t):
    ph, pp = os.environ['HTTPS_PROXY'].split('//')[1].rsplit(':', 1)
    s = socket.create_connection((ph, int(pp)), timeout=6)
    s.sendall(('CONNECT %s HTTP/1.1\\r\\nHost: %s\\r\\n\\r\\n' % (t, t)).encode())
    head = s.recv(4096).decode()
    status = head.split(' ')[1]
    if status != '200':
        s.close(); return status
    s.sendall(('GET / HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' % t).encode())
    data = b''
    while True:
        d = s.recv(4096)
        if not d: break
        data += d
    s.close()
    return '200 ' + data.decode().split('\\r\\n\\r\\n', 1)[-1].strip()
def run(arg):
    kind, target = arg.split(' ', 1)
    try: return {'tcp': tcp, 'get': get, 'connect': connect}[kind](target)
    except Exception as e: return type(e).__name__
with ThreadPoolExecutor(16) as ex:
    print(json.dumps(dict(zip(sys.argv[1:], ex.map(run, sys.argv[1:])))))
`;

async function probe(sandbox: Sandbox, checks: string[]): Promise<Record<string, string>> {
  const res = await sandbox.exec(['python3', '-c', PROBE_PY, ...checks], { timeoutSeconds: 60 });
  expect(res.exitCode).toBe(0);
  return JSON.parse(res.output.trim().split('\n').pop()!);
}

const spec = (network: SandboxSpec['network'], diskMb?: number): SandboxSpec => ({
  image: SANDBOX_IMAGE,
  resources: { cpus: 0.5, memoryMb: 256, pids: 128, ...(diskMb ? { diskMb } : {}) },
  network,
  env: {},
});
const identity = () => ({ runId: newId('run'), iterationId: 'iter_egress', organizationId: 'org_egress', hostId, deploymentId });

async function gatewayOf(network: string): Promise<string> {
  const gateway = (await docker.getNetwork(network).inspect()).IPAM?.Config?.[0]?.Gateway;
  if (!gateway) throw new Error(`network ${network} has no gateway`);
  return gateway;
}

beforeAll(async () => {
  // The outside world: a namespace behind a veth pair, and the metadata address routed into it.
  await sh('ip', ['netns', 'add', NS]);
  await sh('ip', ['link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS]);
  await sh('ip', ['addr', 'add', '198.51.100.1/24', 'dev', VETH_HOST]);
  await sh('ip', ['link', 'set', VETH_HOST, 'up']);
  await sh('ip', ['-n', NS, 'addr', 'add', `${OUTSIDE}/24`, 'dev', 'eth0']);
  await sh('ip', ['-n', NS, 'addr', 'add', `${METADATA}/32`, 'dev', 'eth0']);
  await sh('ip', ['-n', NS, 'link', 'set', 'eth0', 'up']);
  await sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  await sh('ip', ['route', 'add', `${METADATA}/32`, 'via', OUTSIDE, 'dev', VETH_HOST]);
  outsideServers = execFile('ip', ['netns', 'exec', NS, 'python3', '-c', SERVERS_PY, '8080=allowed', '8081=forbidden', '80=metadata']);
  await new Promise<void>((resolve, reject) => {
    outsideServers!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    outsideServers!.on('exit', (code) => reject(new Error(`outside servers exited ${code}`)));
  });

  // Stands in for simlab's API: listening on every address of the host.
  hostService = http.createServer((_req, res) => res.end('host service'));
  await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', r));
  hostServicePort = (hostService.address() as AddressInfo).port;

  proxyPort = 20000 + Math.floor(Math.random() * 20000);
  networks = new SandboxNetworks(docker, {
    name: `simlab-t${suffix}`,
    proxyPort,
    // Names of this test's world; every other name goes to the host's resolver.
    lookup: async (host) => {
      const names: Record<string, string[]> = { 'allowed.simlab.test': [OUTSIDE], 'rebind.simlab.test': ['127.0.0.1'], 'meta.simlab.test': [METADATA] };
      if (names[host]) return names[host]!;
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    },
    log: (line) => refusals.push(line),
  });
  diskRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-egress-disks-'));
  sandboxes = new DockerSandboxProvider(docker, new HomeDisks(diskRoot), networks);
});

afterAll(async () => {
  await sandboxes?.destroy({ hostId, deploymentId });
  await networks?.remove();
  outsideServers?.kill('SIGKILL');
  await sh('ip', ['netns', 'del', NS]).catch(() => undefined);
  await sh('ip', ['link', 'del', VETH_HOST]).catch(() => undefined);
  await new Promise((r) => hostService?.close(r));
});

/** What the host offers on its own addresses: none of it may be reached from a sandbox. */
function hostTargets(gateway: string): string[] {
  const own = hostNetworks().addresses.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('127.'));
  const ports = [hostServicePort, 5432, 7233, 8080, 2375, proxyPort];
  return [gateway, ...own].flatMap((ip) => ports.map((p) => `${ip}:${p}`));
}

describe('sandbox egress', () => {
  it('allow-list: reaches the listed destinations through the proxy and nothing else', async () => {
    const allow = ['allowed.simlab.test:8080', `${OUTSIDE}:8080`, 'rebind.simlab.test', 'meta.simlab.test', METADATA, 'metadata.google.internal', '127.0.0.1', ...hostNetworks().addresses.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a))];
    const sandbox = await sandboxes.create(identity(), spec({ enabled: true, allow }));
    const info = await docker.getContainer(sandbox.id).inspect();
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([networks.egressName]);
    const gateway = await gatewayOf(networks.egressName);
    expect(info.Config.Env).toContain(`HTTPS_PROXY=http://${gateway}:${proxyPort}`);
    // The proxy is supervised: it listens by the time a sandbox could use it.
    for (let i = 0; i < 50 && !networks.proxyListening; i++) await new Promise((r) => setTimeout(r, 100));

    const r = await probe(sandbox, [
      `get http://allowed.simlab.test:8080/`,
      `get http://${OUTSIDE}:8080/`,
      `connect allowed.simlab.test:8080`,
      `get http://${OUTSIDE}:8081/`,
      `connect ${OUTSIDE}:8081`,
      `get http://rebind.simlab.test:${hostServicePort}/`,
      `get http://meta.simlab.test/`,
      `get http://${METADATA}/`,
      `connect ${METADATA}:80`,
      `get http://metadata.google.internal/`,
      `connect 127.0.0.1:5432`,
      `connect 127.0.0.1:7233`,
      ...hostTargets(gateway).filter((t) => !t.endsWith(`:${proxyPort}`)).map((t) => `connect ${t}`),
      // Directly, past the proxy: no route anywhere, and the host answers on the proxy's port only.
      `tcp ${OUTSIDE}:8080`,
      `tcp ${METADATA}:80`,
      ...hostTargets(gateway).map((t) => `tcp ${t}`),
    ]);
    await sandboxes.destroy({ runId: sandbox.runId });

    expect(r[`get http://allowed.simlab.test:8080/`]).toBe('200 allowed');
    expect(r[`get http://${OUTSIDE}:8080/`]).toBe('200 allowed');
    expect(r[`connect allowed.simlab.test:8080`]).toBe('200 allowed');
    for (const [check, outcome] of Object.entries(r)) {
      if (check.startsWith('get ') && !check.includes(':8080/')) expect([check, outcome]).toEqual([check, expect.stringMatching(/^403 simlab egress policy: /)]);
      if (check.startsWith('connect ') && !check.endsWith('allowed.simlab.test:8080')) expect([check, outcome]).toEqual([check, '403']);
      if (check.startsWith('tcp ')) expect([check, outcome]).toEqual([check, check === `tcp ${gateway}:${proxyPort}` ? 'open' : expect.not.stringMatching(/^open$/)]);
    }
    expect(r[`get http://${OUTSIDE}:8081/`]).toMatch(/not in the environment's network.allow list/);
    expect(r[`get http://rebind.simlab.test:${hostServicePort}/`]).toMatch(/resolves to 127.0.0.1 \(a loopback address\)/);
    expect(r[`get http://meta.simlab.test/`]).toMatch(/169.254.169.254 \(a link-local address/);
    expect(r[`get http://metadata.google.internal/`]).toMatch(/a cloud metadata service/);
    expect(refusals.some((l) => l.includes(`run ${sandbox.runId}`))).toBe(true);
  });

  it('network without a list: any outside destination, but not the host, its networks or metadata', async () => {
    const sandbox = await sandboxes.create(identity(), spec({ enabled: true }));
    const info = await docker.getContainer(sandbox.id).inspect();
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([networks.openName]);
    expect(info.Config.Env.some((e) => /PROXY/i.test(e))).toBe(false);
    const gateway = await gatewayOf(networks.openName);
    const r = await probe(sandbox, [`get http://${OUTSIDE}:8080/`, `get http://${OUTSIDE}:8081/`, `get http://${METADATA}/`, `tcp ${METADATA}:80`, ...hostTargets(gateway).map((t) => `tcp ${t}`)]);
    await sandboxes.destroy({ runId: sandbox.runId });

    expect(r[`get http://${OUTSIDE}:8080/`]).toBe('200 allowed');
    expect(r[`get http://${OUTSIDE}:8081/`]).toBe('200 forbidden');
    for (const [check, outcome] of Object.entries(r)) {
      if (!check.includes(OUTSIDE)) expect([check, outcome]).toEqual([check, expect.not.stringMatching(/^(open|200)/)]);
    }
  });

  it('network disabled: reaches nothing', async () => {
    const sandbox = await sandboxes.create(identity(), spec({ enabled: false }));
    const gateway = await gatewayOf(networks.openName);
    const r = await probe(sandbox, [`tcp ${OUTSIDE}:8080`, `tcp ${METADATA}:80`, ...hostTargets(gateway).map((t) => `tcp ${t}`)]);
    const ifaces = await sandbox.exec(['ls', '/sys/class/net'], { timeoutSeconds: 10 });
    await sandboxes.destroy({ runId: sandbox.runId });
    expect(ifaces.output.trim()).toBe('lo');
    for (const [check, outcome] of Object.entries(r)) expect([check, outcome]).toEqual([check, expect.not.stringMatching(/^open$/)]);
  });
});

describe("a quota'd home", () => {
  it("starts with the image's own home files, owned as in the image, on a filesystem of its own", async () => {
    const sandbox = await sandboxes.create(identity(), spec({ enabled: false }, 64));
    const res = await sandbox.exec(['/bin/sh', '-c', 'cd /home/agent && stat -c "%n %U %a" .bashrc .profile .bash_logout && df -k . | tail -1 && echo x > new.txt && cat new.txt'], { timeoutSeconds: 20 });
    await sandboxes.destroy({ runId: sandbox.runId });
    expect(res.exitCode).toBe(0);
    const lines = res.output.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual(['.bashrc agent 644', '.profile agent 644', '.bash_logout agent 644']);
    // A 64 MB ext4 of its own, not the container's layer.
    const sizeKb = Number(lines[3]!.split(/\s+/)[1]);
    expect(sizeKb).toBeGreaterThan(40_000);
    expect(sizeKb).toBeLessThan(70_000);
    expect(lines[4]).toBe('x');
  });
});

describe("a quota'd home smaller than the image's", () => {
  const image = `simlab/egress-test-bighome:${suffix}`;
  beforeAll(async () => {
    const c = await docker.createContainer({ Image: SANDBOX_IMAGE, User: '1000:1000', Entrypoint: ['/bin/sh', '-c', 'head -c 80000000 /dev/zero > /home/agent/big'], Cmd: [], HostConfig: { NetworkMode: 'none' } });
    await c.start();
    await c.wait();
    await c.commit({ repo: 'simlab/egress-test-bighome', tag: suffix });
    await c.remove({ force: true });
  });
  afterAll(() => docker.getImage(image).remove({ force: true }).catch(() => undefined));

  it("is refused as the environment's fault, and leaves nothing behind", async () => {
    const id = identity();
    const created = sandboxes.create(id, { ...spec({ enabled: false }, 64), image });
    await expect(created).rejects.toBeInstanceOf(EnvironmentConfigError);
    await expect(created).rejects.toThrow(/does not fit in the sandbox's disk quota/);
    expect(await sandboxes.list({ runId: id.runId })).toEqual([]);
    expect(fs.readdirSync(diskRoot)).toEqual([]);
  });
});

describe('git init files (SSRF)', () => {
  let git: GitServer;
  beforeAll(async () => {
    git = await startGitServer();
    await git.createRepo('app', { 'README.md': 'hi\n' });
  });
  afterAll(() => git?.close());

  it('refuses loopback, link-local and metadata destinations unless an operator allows them', async () => {
    const url = git.url('app');
    expect(new URL(url).hostname).toBe('127.0.0.1');
    const refused = gitCheckout({ url }, { allowPrivate: false });
    await expect(refused).rejects.toBeInstanceOf(SetupError);
    await expect(refused).rejects.toThrow(/127\.0\.0\.1 is a loopback address: .*SIMLAB_GIT_ALLOW_PRIVATE=1/);
    await expect(gitCheckout({ url: `http://${METADATA}/app.git` }, { allowPrivate: false })).rejects.toThrow(/link-local/);
    await expect(gitCheckout({ url: 'http://metadata.google.internal/app.git' }, { allowPrivate: false })).rejects.toThrow(/a cloud metadata service/);
    await expect(gitCheckout({ url: 'http://localhost:1/app.git' }, { allowPrivate: false })).rejects.toThrow(/resolves to (127\.0\.0\.1|::1), .*loopback/);
    expect(git.requests).toHaveLength(0);

    const allowed = await gitCheckout({ url }, { allowPrivate: true });
    await allowed.cleanup();
    expect(allowed.commit).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('a run through the API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());

  it('refuses a bad allow-list with a 400 naming each entry, and writes nothing', async () => {
    const res = await h.api('POST', `/products/${h.org.productSlug}/environments`, {
      name: 'bad egress',
      agent: { harness: 'command', command: 'true' },
      network: { enabled: false, allow: ['api.anthropic.com', 'https://x.com/'] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { pointer: '/network/allow/1', message: expect.stringMatching(/^must be a host name, \*\.domain/) },
      { pointer: '/network/enabled', message: 'must be true when network.allow is given' },
    ]);
    const list = await h.api('GET', `/products/${h.org.productSlug}/environments`);
    expect(JSON.stringify(list.body)).not.toContain('bad egress');
  });

  it("an agent with an allow-list reaches what is listed and is refused the rest, through the worker's proxy", async () => {
    const fetch = (port: number, file: string) => `python3 -c "import urllib.request as u; print(u.urlopen('http://${OUTSIDE}:${port}/', timeout=10).read().decode())" > ${file} 2>&1`;
    const envId = await h.createEnvironment({
      image: SANDBOX_IMAGE,
      resources: { cpus: 0.5, memoryMb: 256, pids: 128 },
      network: { enabled: true, allow: [`${OUTSIDE}:8080`] },
      agent: { harness: 'command', command: `${fetch(8080, 'allowed.txt')}; ${fetch(8081, 'forbidden.txt')}; true` },
    });
    const taskId = await h.createTask(
      task([
        { name: 'listed', evaluationType: 'bash_command', command: 'cat allowed.txt; grep -qx allowed allowed.txt' },
        { name: 'unlisted', evaluationType: 'bash_command', command: 'cat forbidden.txt; grep -q "HTTP Error 403" forbidden.txt && ! grep -qx forbidden forbidden.txt' },
      ]),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    // The goals, with each criterion's evidence (what the files hold), say why when this fails.
    expect({ status: run.status, passed: run.passed, goals: run.passed ? 'passed' : run.goals }).toEqual({ status: 'completed', passed: true, goals: 'passed' });
    expect(await h.sandboxesLeft()).toEqual([]);
  });
});
