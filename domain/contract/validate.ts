/**
 * Validation of contract documents. Every violation is reported, each with the JSON
 * pointer of the offending value, so a user fixes a file in one pass.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { CONTRACT, type ContractKind } from './schemas';
import { EGRESS_PATTERN_HINT, EGRESS_PATTERN_SOURCE } from '../egressPattern';

export interface Violation {
  /** RFC 6901 pointer into the submitted document; '' is the document itself. */
  pointer: string;
  message: string;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; violations: Violation[] };

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
for (const schema of Object.values(CONTRACT)) ajv.addSchema(schema);

const validators = new Map<ContractKind, ValidateFunction>();
function validatorFor(kind: ContractKind): ValidateFunction {
  let v = validators.get(kind);
  if (!v) {
    v = ajv.getSchema(CONTRACT[kind].$id)!;
    validators.set(kind, v);
  }
  return v;
}

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Turns ajv's errors into one violation per problem, worded for the person editing the file. */
function toViolations(errors: ErrorObject[], doc: unknown): Violation[] {
  const out: Violation[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // `if/then` and `allOf` wrappers repeat what their inner error already says.
    if (e.keyword === 'if' || e.keyword === 'allOf') continue;
    // The branches of the goal-form oneOf only explain why each form did not match; the
    // oneOf error itself says it better.
    if (/\/oneOf\/\d+\//.test(e.schemaPath)) continue;
    let pointer = e.instancePath;
    let message = e.message ?? 'is invalid';
    switch (e.keyword) {
      case 'required':
        pointer = `${pointer}/${escapePointerToken(String(e.params.missingProperty))}`;
        message = /\/network\/enabled$/.test(pointer) ? 'must be true when network.allow is given' : 'is required';
        break;
      case 'additionalProperties': {
        const prop = String(e.params.additionalProperty);
        pointer = `${pointer}/${escapePointerToken(prop)}`;
        message = prop === 'product' && pointer === '/product'
          ? 'is not a task field: the product comes from the URL, and the CLI injects your active product'
          : 'is not a known field';
        break;
      }
      case 'pattern':
        if (e.params.pattern === '\\S') message = 'must not be blank';
        if (e.params.pattern === EGRESS_PATTERN_SOURCE) message = EGRESS_PATTERN_HINT;
        break;
      case 'const':
        if (/\/network\/enabled$/.test(pointer)) message = 'must be true when network.allow is given';
        break;
      case 'enum':
        message = `must be one of: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'oneOf':
        message = describeGoalForm(valueAt(doc, pointer));
        break;
      case 'not':
        continue; // reported by the oneOf message of the same goal
      case 'false schema':
        message = misplacedField(valueAt(doc, pointer.slice(0, pointer.lastIndexOf('/'))));
        break;
    }
    const key = `${pointer}\u0000${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ pointer, message });
    }
  }
  return out;
}

function misplacedField(owner: unknown): string {
  const type = (owner as { evaluationType?: unknown } | null)?.evaluationType;
  if (typeof type === 'string') return `does not apply to evaluationType '${type}'`;
  return 'belongs in a criterion: a goal with a criteria list carries no criterion fields itself';
}

function describeGoalForm(goal: unknown): string {
  const g = (goal ?? {}) as Record<string, unknown>;
  if ('criteria' in g && 'evaluationType' in g) {
    return "must have either 'criteria' or an inline 'evaluationType', not both";
  }
  return "must have either 'criteria' (a list of criteria) or an inline 'evaluationType'";
}

export function valueAt(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[token];
  }
  return cur;
}

/** Separate from the contract's own ajv: user schemas must not register ids in it. */
const userSchemas = new Ajv({ allErrors: true, strict: false });

/** A json_schema criterion's schema must itself be a valid JSON Schema, checked when the task is written. */
function invalidUserSchemas(kind: ContractKind, doc: unknown): Violation[] {
  const base = kind === 'simulation' ? '/task' : kind === 'task' ? '' : null;
  if (base === null) return [];
  const goals = valueAt(doc, `${base}/goals`);
  if (!Array.isArray(goals)) return [];
  const out: Violation[] = [];
  const check = (c: unknown, pointer: string) => {
    const crit = c as { evaluationType?: unknown; schema?: unknown } | null;
    if (crit?.evaluationType !== 'json_schema' || crit.schema === null || typeof crit.schema !== 'object') return;
    try {
      userSchemas.compile(crit.schema as object);
    } catch (err) {
      out.push({ pointer: `${pointer}/schema`, message: `is not a valid JSON Schema: ${(err as Error).message}` });
    }
  };
  goals.forEach((g, i) => {
    check(g, `${base}/goals/${i}`);
    const criteria = (g as { criteria?: unknown } | null)?.criteria;
    if (Array.isArray(criteria)) criteria.forEach((c, j) => check(c, `${base}/goals/${i}/criteria/${j}`));
  });
  return out;
}

export function validateDocument<T>(kind: ContractKind, doc: unknown): Validation<T> {
  const validate = validatorFor(kind);
  const valid = validate(doc);
  const violations = [...(valid ? invalidUserSchemas(kind, doc) : toViolations(validate.errors ?? [], doc))];
  if (violations.length === 0) return { ok: true, value: doc as T };
  violations.sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0));
  return { ok: false, violations };
}
