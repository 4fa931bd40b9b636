/**
 * CPU and memory of processes from /proc: CPU seconds a process used over a span (the
 * worker's cost per run, independent of how busy the machine is), its peak resident set
 * (VmHWM), and how busy the whole machine was meanwhile.
 */
import * as fs from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces): utime and stime are 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return 0;
  }
}

export function memoryKb(pid: number): { rss: number; hwm: number } {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** Busy and total jiffies of the machine (all cores). */
function machineTicks(): { busy: number; total: number } {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

/** Pids whose command line matches, e.g. the Docker engine and the Temporal server. */
export function pidsOf(match: RegExp): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (match.test(fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' '))) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** The Temporal dev server answering at this address (host:port), not another one on this machine. */
export function temporalServerPids(address: string): number[] {
  return pidsOf(new RegExp(`temporal server start-dev .*--port ${address.split(':').pop()}( |$)`));
}

/** Starts measuring; `stop()` gives CPU seconds per named group and the machine's busy share. */
export function cpuSpan(groups: Record<string, number[]>) {
  const start = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, pids.reduce((s, p) => s + cpuSeconds(p), 0)]));
  const m0 = machineTicks();
  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  return {
    stop() {
      const m1 = machineTicks();
      const cpu = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, pids.reduce((s, p) => s + cpuSeconds(p), 0) - start[k]!]));
      return {
        cpu,
        machineBusy: (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total),
        machineCpuSeconds: (m1.busy - m0.busy) / TICKS,
        load: `${load0} -> ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
      };
    },
  };
}
