/** Keeps the last `limit` bytes: the end of a log is where failures are explained. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(b: Buffer) {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
      this.truncated = true;
    }
  }
  toBuffer(): Buffer {
    const all = Buffer.concat(this.chunks);
    if (all.length <= this.limit) return all;
    this.truncated = true;
    return all.subarray(all.length - this.limit);
  }
  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}
