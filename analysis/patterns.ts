/**
 * Transcript patterns: a user's regular expression over a run's texts. It runs in a separate
 * V8 context with a time limit, because a pathological expression (catastrophic backtracking)
 * would otherwise block the worker's event loop; a timeout makes the signal unknown.
 */
import * as vm from 'node:vm';
import type { ScopedText } from './transcriptText';

export const PATTERN_TIMEOUT_MS = 2000;

export interface PatternMatch {
  count: number;
  /** Sequence number of the first event that matched; null when none did. */
  firstSeq: number | null;
}

const SCRIPT = new vm.Script(`(() => {
  const re = new RegExp(pattern, flags + 'g');
  let count = 0, first = null;
  for (const t of texts) {
    re.lastIndex = 0;
    let n = 0, m;
    while ((m = re.exec(t.text)) !== null) { n++; if (m[0] === '') re.lastIndex++; }
    if (n && first === null) first = t.seq;
    count += n;
  }
  return count + ',' + (first === null ? '' : first);
})()`);

export function matchPattern(pattern: string, flags: string, texts: ScopedText[], timeoutMs = PATTERN_TIMEOUT_MS): PatternMatch {
  const context = vm.createContext({ pattern, flags: flags.replace(/g/g, ''), texts });
  // A string crosses the context boundary as a plain value.
  const [count, first] = String(SCRIPT.runInContext(context, { timeout: timeoutMs })).split(',');
  return { count: Number(count), firstSeq: first ? Number(first) : null };
}
