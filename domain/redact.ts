/**
 * Redaction of secret values from anything simlab stores of a run: each value and its
 * base64, base64url and URL-encoded forms become `[secret:NAME]`. Pure, so it can be
 * applied wherever run output is written.
 */
export interface NamedSecret {
  name: string;
  value: string;
}

/** Values shorter than this are refused when set: redacting them would shred every output. */
export const MIN_SECRET_LENGTH = 4;

function formsOf(value: string): string[] {
  const b = Buffer.from(value, 'utf8');
  const base64 = b.toString('base64');
  const base64url = b.toString('base64url');
  // As a JSON string shows it too (agents' stream-json output escapes quotes and backslashes).
  const jsonEscaped = JSON.stringify(value).slice(1, -1);
  return [...new Set([value, base64, base64.replace(/=+$/, ''), base64url, encodeURIComponent(value), encodeURIComponent(value).replace(/%20/g, '+'), jsonEscaped])].filter(
    (f) => f.length >= MIN_SECRET_LENGTH,
  );
}

export class Redactor {
  /** Longest first, so a value inside a longer form is not half-replaced first. */
  private readonly patterns: { form: string; name: string }[];

  constructor(secrets: NamedSecret[]) {
    this.patterns = secrets
      .flatMap((s) => formsOf(s.value).map((form) => ({ form, name: s.name })))
      .sort((a, b) => b.form.length - a.form.length);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** The longest form, for streaming redaction (how much to hold back between chunks). */
  get longest(): number {
    return this.patterns[0]?.form.length ?? 0;
  }

  redact(text: string): string {
    let out = text;
    for (const p of this.patterns) if (out.includes(p.form)) out = out.split(p.form).join(`[secret:${p.name}]`);
    return out;
  }

  redactBuffer(b: Buffer): Buffer {
    if (this.empty) return b;
    // latin1 maps bytes 1:1, so binary content survives and UTF-8 secrets still match byte for byte.
    const latin = b.toString('latin1');
    let out = latin;
    for (const p of this.patterns) {
      const form = Buffer.from(p.form, 'utf8').toString('latin1');
      if (out.includes(form)) out = out.split(form).join(`[secret:${p.name}]`);
    }
    return out === latin ? b : Buffer.from(out, 'latin1');
  }

  /** Any object's strings, deeply (error details, criterion details). */
  redactDeep<T>(v: T): T {
    if (this.empty) return v;
    if (typeof v === 'string') return this.redact(v) as T;
    if (Array.isArray(v)) return v.map((x) => this.redactDeep(x)) as T;
    if (v && typeof v === 'object' && !Buffer.isBuffer(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.redactDeep(x)])) as T;
    return v;
  }

  /**
   * Where a stream may be cut at or before `cut` without splitting a secret that starts
   * before it and ends after it (streamed output is redacted chunk by chunk).
   */
  safeCut(b: Buffer, cut: number): number {
    let safe = cut;
    for (const p of this.patterns) {
      const form = Buffer.from(p.form, 'utf8');
      for (let at = b.indexOf(form, Math.max(0, cut - form.length + 1)); at !== -1 && at < cut; at = b.indexOf(form, at + 1)) {
        if (at + form.length > cut) safe = Math.min(safe, at);
      }
    }
    return safe;
  }

  /**
   * Same-length masking for byte streams whose length is fixed in advance (tar entries):
   * each occurrence becomes `[secret:NAME]` padded or cut to the value's length.
   */
  maskBuffer(b: Buffer): Buffer {
    if (this.empty) return b;
    let out: Buffer | null = null;
    for (const p of this.patterns) {
      const form = Buffer.from(p.form, 'utf8');
      const marker = `[secret:${p.name}]`;
      const mask = Buffer.from((marker.length <= form.length ? marker.padEnd(form.length, '*') : '*'.repeat(form.length)), 'latin1');
      let at = (out ?? b).indexOf(form);
      while (at !== -1) {
        out ??= Buffer.from(b);
        mask.copy(out, at);
        at = out.indexOf(form, at + form.length);
      }
    }
    return out ?? b;
  }
}
