/** file_content_match: a file of the sandbox matched against a regular expression or a literal, or required not to match. */
import { EvaluationError } from '../domain/errors';
import { truncate } from '../domain/text';
import { fail, pass, type CriterionEvaluator } from './types';
import { looksBinary, readSandboxFile, READ_LIMIT } from './sandboxFiles';

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const fileContentMatch: CriterionEvaluator<'file_content_match'> = {
  executable: true,
  timeoutSeconds: (c) => c.timeoutSeconds ?? 60,
  async evaluate(c, { sandbox }) {
    let re: RegExp;
    try {
      re = new RegExp(c.match === 'literal' ? escapeRegExp(c.pattern) : c.pattern, (c.flags ?? '').replace(/[gy]/g, ''));
    } catch (err) {
      throw new EvaluationError(`pattern is not a valid regular expression: ${(err as Error).message}`);
    }
    const file = await readSandboxFile(sandbox, c.path);
    if (!file.found) return c.negate ? pass(c, `${file.why}, so nothing matches`) : fail(file.why);
    const binary = looksBinary(file.content);
    // Binary files are matched byte for byte (latin1 keeps every byte one character).
    const text = file.content.toString(binary ? 'latin1' : 'utf8');
    const notes = [
      ...(binary ? ['binary file: matched byte for byte'] : []),
      ...(file.truncated ? [`only the first ${READ_LIMIT} of ${file.size} bytes were read`] : []),
    ];
    const suffix = notes.length ? ` (${notes.join('; ')})` : '';
    const m = re.exec(text);
    if (!m) {
      const what = `no match for ${c.match === 'literal' ? 'literal' : '/'}${truncate(c.pattern, 200)}${c.match === 'literal' ? '' : '/'} in ${c.path}${suffix}`;
      return c.negate ? pass(c, what) : fail(what);
    }
    const line = text.slice(0, m.index).split('\n').length;
    const lineText = text.split('\n')[line - 1] ?? '';
    const where = `${c.path}:${line}: ${truncate(binary ? JSON.stringify(lineText) : lineText, 300)}${suffix}`;
    return c.negate ? fail(`matches, and must not: ${where}`) : pass(c, `matches at ${where}`);
  },
};
