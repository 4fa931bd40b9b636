import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { ArtifactTooLargeError, LocalArtifactStore } from '../../artifacts';

const read = async (s: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe('local artifact store', () => {
  let root: string;
  let store: LocalArtifactStore;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-artifacts-'));
    store = new LocalArtifactStore(root);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('stores a stream whole, with its size and sha256, readable by its owner only', async () => {
    const body = Buffer.from('x'.repeat(100_000));
    const info = await store.put('run_1/agent.log', Readable.from([body.subarray(0, 10), body.subarray(10)]));
    expect(info).toEqual({ key: 'run_1/agent.log', bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    const got = await store.get('run_1/agent.log');
    expect(got!.bytes).toBe(body.length);
    expect((await read(got!.stream)).equals(body)).toBe(true);
    expect(fs.statSync(path.join(root, 'run_1', 'agent.log')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(root, 'run_1')).mode & 0o777).toBe(0o700);
  });

  it('keeps nothing, not even a partial file, when an artifact exceeds its cap', async () => {
    await expect(store.put('run_1/home.tar.gz', Buffer.alloc(2048), { maxBytes: 1024 })).rejects.toBeInstanceOf(ArtifactTooLargeError);
    expect(await store.get('run_1/home.tar.gz')).toBeNull();
    expect(fs.readdirSync(path.join(root, 'run_1'))).toEqual([]);
  });

  it('keeps nothing when the source fails midway, and the previous version stays whole', async () => {
    await store.put('run_1/a', Buffer.from('old'));
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('sandbox went away'));
      },
    });
    await expect(store.put('run_1/a', failing)).rejects.toThrow('sandbox went away');
    expect((await read((await store.get('run_1/a'))!.stream)).toString()).toBe('old');
    expect(fs.readdirSync(path.join(root, 'run_1'))).toEqual(['a']);
  });

  it('refuses keys that could leave its directory', async () => {
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', '', 'a/./b', '.hidden/../x']) {
      await expect(store.put(key, Buffer.from('x'))).rejects.toThrow(/invalid artifact key/);
    }
    expect(await store.get('run_2/none')).toBeNull();
  });
});
