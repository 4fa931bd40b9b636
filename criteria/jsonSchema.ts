/** json_schema: a JSON file of the sandbox validated against the schema given inline; every violation by JSON pointer. */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { EvaluationError } from '../domain/errors';
import { JsonSyntaxError, parseJsonWithPositions } from '../domain/contract';
import { fail, pass, type CriterionEvaluator } from './types';
import { readSandboxFile } from './sandboxFiles';

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const compiled = new WeakMap<object, ValidateFunction>();

export const jsonSchema: CriterionEvaluator<'json_schema'> = {
  executable: true,
  timeoutSeconds: (c) => c.timeoutSeconds ?? 60,
  async evaluate(c, { sandbox }) {
    let validate = compiled.get(c.schema);
    if (!validate) {
      try {
        validate = ajv.compile(c.schema);
      } catch (err) {
        // Refused when the task is written; a stored schema that fails here is not the agent's doing.
        throw new EvaluationError(`the criterion's schema is not a valid JSON Schema: ${(err as Error).message}`);
      }
      compiled.set(c.schema, validate);
    }
    const file = await readSandboxFile(sandbox, c.path);
    if (!file.found) return fail(file.why);
    if (file.truncated) return fail(`${c.path} is larger than ${file.content.length} bytes; not validated`);
    let value: unknown;
    try {
      value = parseJsonWithPositions(file.content.toString('utf8')).value;
    } catch (err) {
      if (err instanceof JsonSyntaxError) return fail(`${c.path} is not valid JSON: ${err.message}`);
      throw err;
    }
    if (validate(value)) return pass(c, `${c.path} is valid against the schema`);
    const errors = [...(validate.errors ?? [])].sort((a, b) => (a.instancePath < b.instancePath ? -1 : a.instancePath > b.instancePath ? 1 : 0)).map((e) => `${e.instancePath || '(document)'}: ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : ''}`);
    return fail(`${c.path}: ${errors.length} violation(s)\n${errors.slice(0, 50).join('\n')}`);
  },
};
