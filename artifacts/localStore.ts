/**
 * Artifacts in a local directory: enough for one machine, or for hosts that share a
 * filesystem. Files are written under a temporary name and renamed when complete, and
 * are readable by their owner only (they may hold whatever the agent printed).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { ArtifactTooLargeError, type ArtifactInfo, type ArtifactStore, type PutOptions } from './types';

const KEY = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

export class LocalArtifactStore implements ArtifactStore {
  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    if (!KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) throw new Error(`invalid artifact key '${key}'`);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Buffer | NodeJS.ReadableStream, opts: PutOptions = {}): Promise<ArtifactInfo> {
    const final = this.pathOf(key);
    await fs.mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
    const partial = `${final}.${randomBytes(4).toString('hex')}.partial`;
    const hash = createHash('sha256');
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (opts.maxBytes !== undefined && bytes > opts.maxBytes) {
          cb(new ArtifactTooLargeError(`${key} exceeds ${opts.maxBytes} bytes`));
          return;
        }
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    try {
      await pipeline(source, count, createWriteStream(partial, { mode: 0o600 }));
      await fs.rename(partial, final);
    } catch (err) {
      await fs.rm(partial, { force: true });
      throw err;
    }
    return { key, bytes, sha256: hash.digest('hex') };
  }

  async get(key: string): Promise<{ stream: Readable; bytes: number } | null> {
    const p = this.pathOf(key);
    try {
      const st = await fs.stat(p);
      return { stream: createReadStream(p), bytes: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }
}
