/**
 * A disk quota for a sandbox's home: a sparse ext4 image of `diskMb`, loop-mounted on the
 * worker's host and bind-mounted into the container as /home/agent. overlay2 on ext4 (this
 * deployment's storage driver) cannot limit a container's size (`--storage-opt size`
 * needs xfs with project quotas), so the limit is a filesystem of its own: when it is
 * full, writes fail with ENOSPC inside the sandbox and nowhere else. Requires the worker
 * to run as root on the Docker host itself (the default: the local socket).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AGENT_UID } from '../types';

const run = promisify(execFile);

export class HomeDisks {
  constructor(private readonly root: string) {}

  private paths(runId: string) {
    if (!/^[A-Za-z0-9_-]+$/.test(runId)) throw new Error(`invalid run id for a home disk: ${runId}`);
    return { image: path.join(this.root, `${runId}.img`), mount: path.join(this.root, runId) };
  }

  /** Creates, formats and mounts the run's home disk; returns the host directory to bind. */
  async create(runId: string, sizeMb: number): Promise<string> {
    const { image, mount } = this.paths(runId);
    await this.remove(runId);
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    await fs.mkdir(mount, { mode: 0o700 });
    try {
      const fh = await fs.open(image, 'w', 0o600);
      await fh.truncate(sizeMb * 1024 * 1024);
      await fh.close();
      // No reserved blocks (the agent gets all of it); the root directory is the agent's.
      await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', `root_owner=${AGENT_UID}:${AGENT_UID}`, image]);
      await run('mount', ['-o', 'loop,nosuid,nodev', image, mount]);
      await fs.rm(path.join(mount, 'lost+found'), { recursive: true, force: true });
      return mount;
    } catch (err) {
      await this.remove(runId);
      throw new Error(`could not create the sandbox's ${sizeMb} MB home disk: ${(err as Error).message}`);
    }
  }

  /** Unmounts and deletes the run's home disk; nothing there is fine. */
  async remove(runId: string): Promise<void> {
    const { image, mount } = this.paths(runId);
    // Most sandboxes have no home disk: no mount point, nothing mounted, and no umount to
    // spawn (forking the worker costs it tens of milliseconds of CPU, twice per run).
    const hasMountPoint = await fs.stat(mount).then(() => true, () => false);
    if (hasMountPoint) await run('umount', ['-l', mount]).catch(() => undefined);
    await fs.rm(mount, { recursive: true, force: true }).catch(() => undefined);
    await fs.rm(image, { force: true });
  }

  /**
   * Runs whose home disk is still on this host and older than `minAgeMs` (to sweep those
   * whose sandbox is gone without racing a sandbox being created right now).
   */
  async list(minAgeMs = 0): Promise<string[]> {
    const names = (await fs.readdir(this.root).catch(() => [] as string[])).filter((n) => n.endsWith('.img'));
    const out: string[] = [];
    for (const n of names) {
      const st = await fs.stat(path.join(this.root, n)).catch(() => null);
      if (st && Date.now() - st.mtimeMs >= minAgeMs) out.push(n.slice(0, -'.img'.length));
    }
    return out;
  }
}
