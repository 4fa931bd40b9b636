/**
 * The baseline: the container work of a trivial run done directly with dockerode, with
 * the image, hardening and limits of sandbox/docker/provider.ts, and no orchestration.
 *
 * - `essential`: what a run cannot do without (the baseline): create, start, the
 *   agent's exec, the criterion's exec, the home archived (gzip to a file), remove.
 * - `mirror`: every Docker call a run of the command harness makes today, in order
 *   (read off provider.ts, container.ts, setup/provision.ts, harnesses/command.ts and
 *   agentStep.ts, criteria, archiving), including the agent step's 1 s poll. The gap
 *   between simlab and `mirror` is orchestration (Temporal, database); the gap between
 *   `mirror` and `essential` is Docker calls simlab makes beyond the essential ones.
 *
 * Every Docker call is timed by name, so the report can say what each one costs under
 * the same concurrency.
 */
import Docker from 'dockerode';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { hardenedHostConfig } from '../../sandbox/docker/provider';

export type BaselineMode = 'essential' | 'mirror';

export interface TrivialSandbox {
  image: string;
  resources: { cpus: number; memoryMb: number; pids: number };
  agentCommand: string;
  criterionCommand: string;
}

const HOME = '/home/agent';
const UID = '1000:1000';
const KEEPALIVE = ['/bin/sh', '-c', 'while :; do sleep 3600 & wait $!; done'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class CallTimes {
  readonly byCall = new Map<string, number[]>();
  async time<T>(name: string, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      const xs = this.byCall.get(name) ?? [];
      xs.push(performance.now() - t0);
      this.byCall.set(name, xs);
    }
  }
  /** [call, count, mean ms, p95 ms], by total time spent. */
  summary(): [string, number, number, number][] {
    return [...this.byCall.entries()]
      .map(([k, xs]): [string, number, number, number] => {
        const s = [...xs].sort((a, b) => a - b);
        return [k, xs.length, xs.reduce((a, b) => a + b, 0) / xs.length, s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]!];
      })
      .sort((a, b) => b[1] * b[2] - a[1] * a[2]);
  }
}

export class PlainDockerRun {
  constructor(
    private readonly docker: Docker,
    private readonly times: CallTimes,
    private readonly spec: TrivialSandbox,
    private readonly label: string,
  ) {}

  private async exec(c: Docker.Container, name: string, cmd: string[], user = UID): Promise<number | null> {
    return this.times.time(name, async () => {
      const e = await c.exec({ Cmd: ['timeout', '-s', 'KILL', '300', ...cmd], User: user, WorkingDir: HOME, AttachStdout: true, AttachStderr: true });
      const stream = await e.start({ hijack: true, stdin: false });
      const sink = new PassThrough();
      sink.resume();
      c.modem.demuxStream(stream, sink, sink);
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
      return (await e.inspect()).ExitCode;
    });
  }

  async run(mode: BaselineMode, n: number, archiveDir: string): Promise<void> {
    const { docker, times, spec } = this;
    const t = <T>(name: string, f: () => Promise<T>) => times.time(name, f);
    const name = `simlab-bench-${this.label}-${n}`;
    if (mode === 'mirror') {
      await t('containers.list', () => docker.listContainers({ all: true, filters: { label: [`simlab.bench=${this.label}`, `simlab.bench.n=${n}`] } }));
      await t('image.inspect', () => docker.getImage(spec.image).inspect());
    }
    const c = await t('container.create', () =>
      docker.createContainer({
        name,
        Image: spec.image,
        Entrypoint: KEEPALIVE,
        Cmd: [],
        User: UID,
        WorkingDir: HOME,
        Env: [`HOME=${HOME}`, `SIMLAB_RUN_ID=${name}`, 'SIMLAB_PROMPT_FILE=/tmp/.simlab/prompt.md'],
        Labels: { 'simlab.bench': this.label, 'simlab.bench.n': String(n) },
        NetworkDisabled: true,
        HostConfig: {
          ...hardenedHostConfig(spec.resources),
          NetworkMode: 'none',
          AutoRemove: false,
        },
      }),
    );
    try {
      await t('container.start', () => c.start());
      if (mode === 'mirror') {
        await t('container.inspect', () => c.inspect());
        const pack = tar.pack();
        pack.entry({ name: '.simlab', type: 'directory', mode: 0o755, uid: 0, gid: 0 });
        pack.entry({ name: '.simlab/prompt.md', mode: 0o444, uid: 0, gid: 0 }, 'Do nothing.');
        pack.entry({ name: '.simlab/agent.log', mode: 0o600, uid: 1000, gid: 1000 }, '');
        pack.finalize();
        await t('container.putArchive', () => c.putArchive(pack as unknown as Readable, { path: '/tmp' }));
        await this.exec(c, 'exec home check + process baseline', ['/bin/sh', '-c', `stat -c '%u %g %a' ${HOME} >/dev/null; for p in /proc/[0-9]*; do echo "\${p#/proc/}"; done > /tmp/.simlab/pids.before`], '0:0');
        // simlab archives an image's home once and copies it for runs that set nothing up.
        if (n === 0) await this.archive(c, path.join(archiveDir, `${n}.setup.tar.gz`));
        // The agent: a detached exec, checked at 50 ms, then less often (simlab also wakes on its exec_die event).
        await t('agent (detached exec, 50 ms poll doubling)', async () => {
          const e = await c.exec({ Cmd: ['/bin/sh', '-c', `exec >>/tmp/.simlab/agent.log 2>&1 </dev/null; ${spec.agentCommand}`], User: UID, WorkingDir: HOME });
          await e.start({ Detach: true });
          for (let wait = 50; (await e.inspect()).Running; wait = Math.min(1000, wait * 2)) {
            await this.exec(c, 'exec read agent output', ['/bin/sh', '-c', 'tail -c +1 /tmp/.simlab/agent.log | head -c 65536']);
            await sleep(wait);
          }
        });
        // One exec ends the agent's processes and reads the counters and the log's end.
        await this.exec(c, 'exec end agent (kill, counters, log)', ['/bin/sh', '-c', 'cat /sys/fs/cgroup/pids.events /sys/fs/cgroup/memory.events 2>/dev/null; tail -c 10485760 /tmp/.simlab/agent.log']);
      } else {
        await this.exec(c, 'exec agent', ['/bin/sh', '-c', spec.agentCommand]);
      }
      await this.exec(c, 'exec criterion', ['/bin/sh', '-c', spec.criterionCommand]);
      await this.archive(c, path.join(archiveDir, `${n}.tar.gz`));
    } finally {
      if (mode === 'mirror') await t('containers.list', () => docker.listContainers({ all: true, filters: { label: [`simlab.bench=${this.label}`, `simlab.bench.n=${n}`] } }));
      await t('container.remove', () => c.remove({ force: true, v: true }));
    }
  }

  private async archive(c: Docker.Container, file: string): Promise<void> {
    await this.times.time('container.getArchive (gzip to a file)', async () => {
      const stream = await c.getArchive({ path: HOME });
      await pipeline(stream as unknown as Readable, createGzip(), fs.createWriteStream(file, { mode: 0o600 }));
    });
  }
}

/** n runs at concurrency c, as a pool; returns the wall time in ms. */
export async function runPlainDocker(opts: { spec: TrivialSandbox; runs: number; concurrency: number; mode: BaselineMode; times: CallTimes }): Promise<number> {
  const docker = new Docker();
  const label = `${process.pid}-${opts.mode}-${Date.now().toString(36)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-bench-archives-'));
  const run = new PlainDockerRun(docker, opts.times, opts.spec, label);
  let next = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        while (next < opts.runs) await run.run(opts.mode, next++, dir);
      }),
    );
    return performance.now() - t0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    // Anything left by a failed run goes too: only this invocation's own label.
    for (const c of await docker.listContainers({ all: true, filters: { label: [`simlab.bench=${label}`] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
}
