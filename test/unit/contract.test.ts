import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  normalizeEnvironment,
  normalizeTask,
  parseJsonWithPositions,
  positionOf,
  validateDocument,
  type EnvironmentInput,
  type TaskInput,
} from '../../domain/contract';

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', name), 'utf8'));

describe('task contract', () => {
  it("accepts the reference's task.json exactly as written", () => {
    const v = validateDocument('task', fixture('reference-task.json'));
    expect(v).toEqual({ ok: true, value: fixture('reference-task.json') });
  });

  it("accepts the reference's simulation.json exactly as written", () => {
    expect(validateDocument('simulation', fixture('reference-simulation.json')).ok).toBe(true);
  });

  it('reports every violation of an invalid task by JSON pointer', () => {
    const v = validateDocument('task', fixture('invalid-task.json'));
    expect(v.ok).toBe(false);
    if (v.ok) return;
    const byPointer = Object.fromEntries(v.violations.map((x) => [x.pointer, x.message]));
    expect(byPointer).toEqual({
      '/name': 'must not be blank',
      '/category': 'must be one of: "coding", "research", "documentation", "analysis"',
      '/product': expect.stringContaining('CLI injects your active product'),
      '/goals/0/command': 'is required',
      '/goals/0/weight': 'must be > 0',
      '/goals/0/passingThreshold': 'must be <= 100',
      '/goals/1': "must have either 'criteria' (a list of criteria) or an inline 'evaluationType'",
      '/initCommands/0/command': 'is required',
    });
  });

  it('rejects a goal that has both forms, and a criterion of an unknown type', () => {
    const task = {
      name: 't',
      category: 'coding',
      prompt: 'p',
      goals: [
        { name: 'both', evaluationType: 'file_exists', path: 'x', criteria: [{ evaluationType: 'file_exists', path: 'y' }] },
        { name: 'bad', criteria: [{ evaluationType: 'vibes' }] },
      ],
    };
    const v = validateDocument('task', task);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.violations).toEqual(
      expect.arrayContaining([
        { pointer: '/goals/0', message: "must have either 'criteria' or an inline 'evaluationType', not both" },
        { pointer: '/goals/1/criteria/0/evaluationType', message: expect.stringContaining('must be one of') },
      ]),
    );
  });

  it('normalizes the short goal form into a goal with one criterion and explicit defaults', () => {
    const def = normalizeTask(fixture('reference-task.json') as TaskInput);
    expect(def.goals).toEqual([
      {
        name: 'Checkout succeeds',
        description: expect.stringContaining('confirmation page'),
        passingThreshold: 70,
        scoringMethod: 'weighted_average',
        criteria: [
          {
            name: 'Checkout succeeds',
            description: expect.stringContaining('confirmation page'),
            evaluationType: 'llm_judge',
            model: 'claude-sonnet-4-6',
            weight: 1,
            maxScore: 100,
          },
        ],
      },
    ]);
    expect(def.timeoutMinutes).toBe(70);
    // A normalized definition is itself a valid task document (updates revalidate it).
    expect(validateDocument('task', def).ok).toBe(true);
  });

  it('fills init command defaults and names criteria of multi-criterion goals', () => {
    const def = normalizeTask({
      name: ' Setup ',
      category: 'coding',
      prompt: 'p',
      initCommands: [{ command: 'make' }],
      goals: [{ name: 'g', criteria: [{ evaluationType: 'file_exists', path: 'a' }, { evaluationType: 'bash_command', command: 'true', weight: 3 }] }],
    });
    expect(def.name).toBe('Setup');
    expect(def.initCommands).toEqual([{ command: 'make', workingDirectory: '/home/agent', timeoutSeconds: 600 }]);
    expect(def.goals[0]!.criteria.map((c) => [c.name, c.weight])).toEqual([
      ['g #1', 1],
      ['g #2', 3],
    ]);
  });

  it('validates environments: a command harness needs its command', () => {
    const v = validateDocument('environment', { name: 'e', agent: { harness: 'command' }, resources: { memoryMb: 1 } });
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.violations).toEqual([
        { pointer: '/agent/command', message: 'is required' },
        { pointer: '/resources/memoryMb', message: 'must be >= 64' },
      ]);
    }
    const env = normalizeEnvironment({ name: 'e', agent: { harness: 'command', command: 'true' } } as EnvironmentInput);
    expect(env).toMatchObject({ image: 'simlab/sandbox:bookworm', network: { enabled: false }, resources: { cpus: 1, memoryMb: 2048, pids: 512 } });
  });

  it('refuses a field its evaluation type does not use, instead of ignoring it', () => {
    const v = validateDocument('task', {
      name: 't',
      category: 'coding',
      prompt: 'p',
      goals: [
        { name: 'short', evaluationType: 'file_exists', path: 'a', command: 'ls' },
        { name: 'long', pattern: 'x', criteria: [{ evaluationType: 'bash_command', command: 'true', schema: {} }] },
      ],
    });
    expect(v.ok ? [] : v.violations).toEqual([
      { pointer: '/goals/0/command', message: "does not apply to evaluationType 'file_exists'" },
      { pointer: '/goals/1/criteria/0/schema', message: "does not apply to evaluationType 'bash_command'" },
      { pointer: '/goals/1/pattern', message: 'belongs in a criterion: a goal with a criteria list carries no criterion fields itself' },
    ]);
    // Normalized, a criterion carries exactly its own type's fields.
    const def = normalizeTask({ name: 't', category: 'coding', prompt: 'p', goals: [{ name: 'g', evaluationType: 'bash_command', command: 'true', timeoutSeconds: 5 }] });
    expect(def.goals[0]!.criteria[0]).toEqual({ name: 'g', evaluationType: 'bash_command', weight: 1, maxScore: 100, command: 'true', timeoutSeconds: 5 });
  });

  it('accepts task secrets and an environment disk quota', () => {
    expect(validateDocument('environment', { name: 'e', agent: { harness: 'command', command: 'true' }, resources: { diskMb: 100 }, secrets: ['X'] }).ok).toBe(true);
    expect(validateDocument('task', { name: 't', category: 'coding', prompt: 'p', secrets: ['GITHUB_TOKEN'], goals: [{ name: 'g', evaluationType: 'file_exists', path: 'a' }] }).ok).toBe(true);
  });

  it('validates experiments', () => {
    expect(validateDocument('experiment', { name: 'x', taskIds: ['t'], environmentIds: ['e'], repeats: 3 }).ok).toBe(true);
    const v = validateDocument('experiment', { name: 'x', repeats: 0 });
    expect(v.ok ? [] : v.violations).toEqual([{ pointer: '/repeats', message: 'must be >= 1' }]);
  });
});

describe('JSON source positions', () => {
  const text = '{\n  "name": "x",\n  "goals": [\n    { "name": "g", "weight": -1 }\n  ]\n}\n';

  it('maps pointers to lines and columns, falling back to the nearest parent', () => {
    const { value, positions } = parseJsonWithPositions(text);
    expect(value).toEqual(JSON.parse(text));
    expect(positionOf(positions, '/name')).toEqual({ line: 2, column: 3 });
    expect(positionOf(positions, '/goals/0/weight')).toEqual({ line: 4, column: 20 });
    expect(positionOf(positions, '/goals/0/command')).toEqual({ line: 4, column: 5 });
  });

  it('names the line and column of a syntax error', () => {
    expect(() => parseJsonWithPositions('{\n  "a": 1,\n  "b" 2\n}')).toThrow('at line 3, column 7');
    expect(() => parseJsonWithPositions('{"a": "x')).toThrow('unterminated string at line 1, column 7');
    expect(() => parseJsonWithPositions('[1, 2] x')).toThrow('unexpected content after the JSON value');
  });

  it('parses what JSON.parse parses', () => {
    const samples = ['"\\u00e9\\n"', '-0.5e3', '[true,false,null,{}]', '{"a/b":{"c~d":[1]}}'];
    for (const s of samples) expect(parseJsonWithPositions(s).value).toEqual(JSON.parse(s));
    expect(positionOf(parseJsonWithPositions('{"a/b":{"c~d":[1]}}').positions, '/a~1b/c~0d/0')).toEqual({ line: 1, column: 16 });
  });
});
