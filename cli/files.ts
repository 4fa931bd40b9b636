/** Reading contract files: syntax and contract violations reported as file:line:column pointer: message. */
import * as fs from 'node:fs';
import { JsonSyntaxError, parseJsonWithPositions, positionOf, validateDocument, type ContractKind, type Violation } from '../domain/contract';

export class InputError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

export interface LoadedDocument {
  file: string;
  value: unknown;
  describe(violations: Violation[]): string[];
}

export function loadDocument(file: string, kind?: ContractKind): LoadedDocument {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError([`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  let parsed;
  try {
    parsed = parseJsonWithPositions(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      throw new InputError([`${file}:${err.position.line}:${err.position.column}: invalid JSON: ${err.message}`]);
    }
    throw err;
  }
  const describe = (violations: Violation[]) =>
    violations
      .map((v) => ({ v, pos: positionOf(parsed.positions, v.pointer) }))
      .sort((a, b) => (a.pos?.line ?? 0) - (b.pos?.line ?? 0) || (a.pos?.column ?? 0) - (b.pos?.column ?? 0))
      .map(({ v, pos }) => `${file}${pos ? `:${pos.line}:${pos.column}` : ''}: ${v.pointer || '(document)'}: ${v.message}`);
  if (kind) {
    // Checked here first so the user sees line numbers without a round trip; the API checks again.
    const v = validateDocument(kind, parsed.value);
    if (!v.ok) throw new InputError([`${file}: ${v.violations.length} violation(s) of the ${kind} contract:`, ...describe(v.violations)]);
  }
  return { file, value: parsed.value, describe };
}
