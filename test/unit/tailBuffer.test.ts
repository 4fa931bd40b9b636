import { TailBuffer } from '../../sandbox/tailBuffer';

describe('TailBuffer', () => {
  it('keeps the last bytes, byte-exact, across chunk boundaries', () => {
    const b = new TailBuffer(5);
    for (const part of ['abc', 'defg', 'hi']) b.push(Buffer.from(part));
    expect(b.toBuffer().toString()).toBe('efghi');
    expect(b.truncated).toBe(true);
  });

  it('keeps everything under the limit, binary included', () => {
    const b = new TailBuffer(10);
    b.push(Buffer.from([0, 255, 1]));
    b.push(Buffer.from([2]));
    expect([...b.toBuffer()]).toEqual([0, 255, 1, 2]);
    expect(b.truncated).toBe(false);
  });

  it('drops whole old chunks as it goes, so memory stays bounded', () => {
    const b = new TailBuffer(4);
    for (let i = 0; i < 1000; i++) b.push(Buffer.from('xy'));
    expect(b.toString()).toBe('xyxy');
    expect((b as unknown as { chunks: Buffer[] }).chunks.length).toBeLessThanOrEqual(3);
  });
});
