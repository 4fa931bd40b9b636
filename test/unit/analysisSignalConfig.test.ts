/** The signal config: YAML in, typed signals out, every violation with its line and column. */
import { parseSignalConfig, describeViolations } from '../../analysis/signalConfig';

const GOOD = `version: 1
model: claude-sonnet-4-6
frictionModel: true
signals:
  - name: duration
    type: number
    metric: agent_duration_seconds
  - name: saw_401
    type: boolean
    pattern: "HTTP 401|unauthori[sz]ed"
    flags: i
    in: [outputs]
  - name: retries
    type: number
    builtin: commands_retried_after_error
  - name: hello_passed
    type: boolean
    criterion: says hello
  - name: helpfulness
    type: number
    question: How helpful were the docs?
    range: [0, 10]
  - name: blocker
    type: category
    question: What blocked the agent most?
    categories: [auth, docs, nothing]
`;

describe('signal config', () => {
  it('parses a valid file into typed definitions with defaults', () => {
    const r = parseSignalConfig(GOOD);
    if (!r.ok) throw new Error(JSON.stringify(r.violations));
    expect(r.config.model).toBe('claude-sonnet-4-6');
    expect(r.config.frictionModel).toBe(true);
    expect(r.config.clusterModel).toBe(false);
    expect(r.config.signals.map((s) => [s.name, s.type, s.source.kind])).toEqual([
      ['duration', 'number', 'metric'],
      ['saw_401', 'boolean', 'pattern'],
      ['retries', 'number', 'builtin'],
      ['hello_passed', 'boolean', 'criterion'],
      ['helpfulness', 'number', 'question'],
      ['blocker', 'category', 'question'],
    ]);
    expect(r.config.signals[1]!.source).toEqual({ kind: 'pattern', pattern: 'HTTP 401|unauthori[sz]ed', flags: 'i', in: ['outputs'], measure: 'matched' });
    expect(r.config.signals[3]!.source).toEqual({ kind: 'criterion', criterion: 'says hello', measure: 'passed' });
  });

  it('an empty file is an empty config', () => {
    expect(parseSignalConfig('')).toEqual({ ok: true, config: { frictionModel: false, clusterModel: false, signals: [] } });
  });

  it('names the line and column of every schema violation', () => {
    const text = ['signals:', '  - name: Bad-Name', '    type: number', '    metric: nope', '  - name: ok', '    type: boolean', '    colour: red', '  - type: boolean', '    builtin: docs_pages_fetched', ''].join('\n');
    const r = parseSignalConfig(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const lines = describeViolations('signals.yaml', r.violations);
    expect(lines).toEqual(
      expect.arrayContaining([
        'signals.yaml:2:5: /signals/0/name: must be lowercase letters, digits and _ (starting with a letter), at most 64',
        expect.stringMatching(/^signals\.yaml:4:5: \/signals\/0\/metric: must be one of: agent_duration_seconds, /),
        'signals.yaml:7:5: /signals/1/colour: is not a known field',
        'signals.yaml:8:5: /signals/2/name: is required',
      ]),
    );
  });

  it('names the line and column of semantic violations: source count, types, regexes, duplicates', () => {
    const text = [
      'signals:',
      '  - name: a', //                2
      '    type: boolean',
      '    metric: cost_usd', //       4
      '  - name: a', //                5
      '    type: number',
      '    pattern: "(unclosed"', //   7
      '    measure: count',
      '  - name: c', //                9
      '    type: number',
      '    question: How many?', //   11
      '  - name: d', //               12
      '    type: boolean',
      '    builtin: docs_pages_fetched', // 14
      '    criterion: x', //          15
      '',
    ].join('\n');
    const r = parseSignalConfig(text);
    if (r.ok) throw new Error('accepted');
    expect(describeViolations('s.yaml', r.violations)).toEqual([
      's.yaml:3:5: /signals/0/type: must be number: metric cost_usd is a number',
      's.yaml:5:5: /signals/1/name: duplicates the name of signal 0',
      expect.stringMatching(/^s\.yaml:7:5: \/signals\/1\/pattern: is not a valid regular expression: /),
      's.yaml:9:5: /signals/2/range: is required for a number question: [min, max]',
      's.yaml:15:5: /signals/3/criterion: needs exactly one source: metric, pattern, builtin, criterion, question (has builtin, criterion)',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const r = parseSignalConfig('signals:\n  - name: a\n    name: b\n');
    if (r.ok) throw new Error('accepted');
    expect(r.violations[0]).toMatchObject({ line: 3, column: 5, message: expect.stringContaining('unique') });
  });
});
