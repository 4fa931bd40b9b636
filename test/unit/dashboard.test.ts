/** The dashboard's pure parts: its URLs, figures, transcript timeline, and the session cookie's parsing. */
import { href, matchRoute } from '../../dashboard/src/router';
import * as fmt from '../../dashboard/src/format';
import { diffLines, timeline } from '../../dashboard/src/transcript';
import { readCookie } from '../../api/session';

describe('dashboard routes', () => {
  it('gives every screen a URL and reads it back', () => {
    const cases: [string, ReturnType<typeof matchRoute>][] = [
      [href.runs('default'), { page: 'runs', product: 'default' }],
      [href.experiments('p-1'), { page: 'experiments', product: 'p-1' }],
      [href.tasks('p'), { page: 'tasks', product: 'p' }],
      [href.environments('p'), { page: 'environments', product: 'p' }],
      [href.run('run_1'), { page: 'run', id: 'run_1' }],
      [href.iteration('iter_1'), { page: 'iteration', id: 'iter_1' }],
      [href.experiment('exp_1'), { page: 'experiment', id: 'exp_1' }],
      [href.results('exp_1', 3), { page: 'results', id: 'exp_1', number: 3 }],
      [href.task('task_1'), { page: 'task', id: 'task_1' }],
      [href.environment('env_1'), { page: 'environment', id: 'env_1' }],
    ];
    for (const [url, route] of cases) expect(matchRoute(url)).toEqual(route);
    expect(matchRoute('/')).toEqual({ page: 'home' });
    expect(matchRoute('/p/default')).toEqual({ page: 'runs', product: 'default' });
    expect(matchRoute(href.run('a/b'))).toEqual({ page: 'run', id: 'a/b' });
    const [path, query] = href.results('exp_1', 3, 2).split('?');
    expect(matchRoute(path!, `?${query}`)).toEqual({ page: 'results', id: 'exp_1', number: 3, compare: 2 });
    expect(matchRoute('/experiments/e/iterations/0').page).toBe('notfound');
    expect(matchRoute('/experiments/e/iterations/2', '?compare=x')).toEqual({ page: 'results', id: 'e', number: 2 });
  });

  it('sends unknown and malformed paths to the not-found page', () => {
    for (const p of ['/nope', '/runs', '/runs/x/y', '/p/x/secrets', '/runs/%E0%A4%A', '/p//runs']) expect(matchRoute(p).page).toBe('notfound');
  });

  it("comes back after sign-in only to a path of this site", () => {
    expect(matchRoute('/signin', '?next=%2Fruns%2Frun_1')).toEqual({ page: 'signin', next: '/runs/run_1' });
    for (const next of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
      expect(matchRoute('/signin', `?next=${encodeURIComponent(next)}`)).toEqual({ page: 'signin' });
    }
    expect(href.signin('/runs/x')).toBe('/signin?next=%2Fruns%2Fx');
    expect(href.signin('/')).toBe('/signin');
  });
});

describe('dashboard figures', () => {
  it('estimates time left from the throughput so far', () => {
    const startedAt = new Date(0).toISOString();
    expect(fmt.eta({ startedAt, total: 100, ended: 25, now: 60_000 })).toBe(180_000);
    expect(fmt.eta({ startedAt, total: 100, ended: 0, now: 60_000 })).toBeNull();
    expect(fmt.eta({ startedAt, total: 100, ended: 100, now: 60_000 })).toBeNull();
    expect(fmt.eta({ startedAt: null, total: 100, ended: 5, now: 60_000 })).toBeNull();
  });

  it('says unknown for figures a harness does not report, never 0', () => {
    expect(fmt.usd(null)).toBe('unknown');
    expect(fmt.count(null)).toBe('unknown');
    expect(fmt.usd(0.0231)).toBe('$0.0231');
    expect(fmt.usd(12.5)).toBe('$12.50');
    expect(fmt.usd(0.0031)).toBe('$0.0031');
    expect(fmt.count(5400)).toBe('5,400');
    expect(fmt.percent(1, 3)).toBe('33.3%');
    expect(fmt.percent(0, 0)).toBe('–');
    expect(fmt.duration(61_000)).toBe('1 min 1 s');
    expect(fmt.duration(null)).toBe('–');
    expect(fmt.bytes(2048)).toBe('2.0 KiB');
  });
});

describe('transcript timeline', () => {
  const ev = (seq: number, type: string, data: Record<string, unknown>) => ({ seq, at: new Date(seq * 1000).toISOString(), type, data });

  it('joins streamed output and puts each tool result with its call', () => {
    const items = timeline([
      ev(1, 'status', { from: null, to: 'running' }),
      ev(2, 'command_output', { text: 'a' }),
      ev(3, 'command_output', { text: 'b\n' }),
      ev(4, 'tool_call', { id: 't1', name: 'Bash', input: { command: 'ls' } }),
      ev(5, 'thinking', { text: 'hmm' }),
      ev(6, 'tool_result', { id: 't1', output: 'x' }),
      ev(7, 'tool_result', { id: 'unknown', output: 'orphan' }),
      ev(8, 'command_output', { text: 'c' }),
    ]);
    expect(items.map((i) => [i.kind, i.seq])).toEqual([['event', 1], ['output', 2], ['tool', 4], ['event', 5], ['event', 7], ['output', 8]]);
    expect(items[1]).toMatchObject({ text: 'ab\n' });
    expect(items[2]).toMatchObject({ result: { seq: 6 } });
  });

  it('classes diff lines', () => {
    expect(diffLines('--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n same').map((l) => l.cls)).toEqual(['ctx', 'ctx', 'hunk', 'del', 'add', 'ctx']);
  });
});

describe('session cookie', () => {
  it('reads only a well-formed value of its own name', () => {
    const token = 'A'.repeat(43);
    expect(readCookie(`other=1; simlab_session=${token}; x=y`, 'simlab_session')).toBe(token);
    expect(readCookie('simlab_session=short', 'simlab_session')).toBeUndefined();
    expect(readCookie(`simlab_session=${token};`.replace('A', '%'), 'simlab_session')).toBeUndefined();
    expect(readCookie(`xsimlab_session=${token}`, 'simlab_session')).toBeUndefined();
    expect(readCookie(undefined, 'simlab_session')).toBeUndefined();
  });
});
