/**
 * Secrets out of an archive of the agent's home: every file's bytes pass through a
 * same-length mask (a tar entry's size is fixed in its header, and streaming keeps memory
 * flat whatever the file size), so a secret the agent wrote into a file is not archived.
 */
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import type { Redactor } from '../domain/redact';

function maskingStream(redactor: Redactor): Transform {
  let carry: Buffer = Buffer.alloc(0);
  // A form may start in the last bytes of one chunk and end in the next: hold those back.
  const keep = Math.max(0, redactor.longest - 1);
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const buf = redactor.maskBuffer(Buffer.concat([carry, chunk]));
      const cut = Math.max(0, buf.length - keep);
      carry = buf.subarray(cut);
      cb(null, buf.subarray(0, cut));
    },
    flush(cb) {
      cb(null, redactor.maskBuffer(carry));
    },
  });
}

export function redactTar(source: NodeJS.ReadableStream, redactor: Redactor): NodeJS.ReadableStream {
  if (redactor.empty) return source;
  const extract = tar.extract();
  const pack = tar.pack();
  const out = new PassThrough();
  extract.on('entry', (rawHeader, stream, next) => {
    // Names and link targets can hold a secret too (`touch "$TOKEN"`); they may change length.
    const header = { ...rawHeader, name: redactor.redact(rawHeader.name), ...(rawHeader.linkname ? { linkname: redactor.redact(rawHeader.linkname) } : {}) };
    if (header.type !== 'file') {
      pack.entry(header, (err) => next(err ?? undefined));
      stream.resume();
      return;
    }
    const sink = pack.entry(header, (err) => next(err ?? undefined));
    pipeline(stream as unknown as Readable, maskingStream(redactor), sink).catch((err) => extract.destroy(err));
  });
  extract.on('finish', () => pack.finalize());
  extract.on('error', (err) => out.destroy(err));
  source.on('error', (err: Error) => out.destroy(err));
  pack.on('error', (err) => out.destroy(err));
  source.pipe(extract);
  pack.pipe(out);
  return out;
}
