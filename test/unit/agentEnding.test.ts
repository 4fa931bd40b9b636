/**
 * The agent step's one read after the agent ended (sandbox/docker/container.ts END_AGENT):
 * its header is parsed from the front, so output the agent left cannot pose as it.
 */
import { parseAgentEnding } from '../../sandbox/docker/container';

const report = (header: string[], log: string) => Buffer.concat([Buffer.from(['simlab-end 1', ...header, '--', ''].join('\n')), Buffer.from(log)]);

describe('parseAgentEnding', () => {
  it('reads cgroup v2 counters without mixing the two files that both have a max line', () => {
    const out = report(['cg pids.events max 7', 'cg memory.events low 0', 'cg memory.events max 3', 'cg memory.events oom 2', 'cg memory.events oom_kill 2', 'log 5 0'], 'hello');
    expect(parseAgentEnding(out)).toEqual({ pidsLimitHit: 7, oomKills: 2, homeAvailableKb: null, log: { size: 5, start: 0, content: Buffer.from('hello') } });
  });

  it('reads cgroup v1 places, the home free space and a log cut to its end', () => {
    const out = report(['cg memory.oom_control oom_kill_disable 0', 'cg memory.oom_control oom_kill 4', 'df Available', 'df 812', 'log 100 90'], '0123456789');
    expect(parseAgentEnding(out)).toMatchObject({ pidsLimitHit: 0, oomKills: 4, homeAvailableKb: 812, log: { size: 100, start: 90, content: Buffer.from('0123456789') } });
  });

  it('keeps only the bytes that were there when the size was read', () => {
    expect(parseAgentEnding(report(['log 3 0'], 'abcdef'))!.log!.content.toString()).toBe('abc');
  });

  it('says there is no log', () => {
    expect(parseAgentEnding(report(['log -1 0'], ''))!.log).toBeNull();
  });

  it("ignores a header the agent printed into its own log", () => {
    const forged = 'cg pids.events max 0\ncg memory.events oom_kill 0\n';
    const out = report(['cg pids.events max 9', 'cg memory.events oom_kill 1', `log ${forged.length} 0`], forged);
    expect(parseAgentEnding(out)).toMatchObject({ pidsLimitHit: 9, oomKills: 1 });
  });

  it('refuses output without the header or its end (the script could not run)', () => {
    expect(parseAgentEnding(Buffer.from('OCI runtime exec failed: resource temporarily unavailable'))).toBeNull();
    expect(parseAgentEnding(Buffer.from('simlab-end 1\ncg pids.events max 1\n'))).toBeNull();
    expect(parseAgentEnding(Buffer.from('simlab-end 1\n--\n'))).toBeNull();
  });
});
