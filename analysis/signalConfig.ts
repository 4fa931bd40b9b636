/**
 * The signal config: a YAML file naming the signals to extract from every run of an
 * experiment, and whether a model finds friction points and failure clusters. Parsed with
 * `yaml` (which keeps each node's source range), checked with ajv against SIGNAL_CONFIG_SCHEMA
 * and then semantically (each signal's type must be what its source yields); every violation
 * names its JSON pointer, line and column.
 */
import Ajv, { type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, isMap, isSeq, type Document, type Node } from 'yaml';
import {
  BUILTINS,
  CRITERION_MEASURES,
  METRICS,
  PATTERN_MEASURES,
  PATTERN_SCOPES,
  SIGNAL_CONFIG_SCHEMA,
  type BuiltinName,
  type MetricName,
  type PatternScope,
  type SignalType,
} from '../domain/contract/signalConfigSchema';

export { BUILTINS, METRICS, PATTERN_SCOPES, SIGNAL_CONFIG_SCHEMA, type BuiltinName, type MetricName, type PatternScope, type SignalType };

export type SignalSource =
  | { kind: 'metric'; metric: MetricName }
  | { kind: 'pattern'; pattern: string; flags: string; in: PatternScope[]; measure: keyof typeof PATTERN_MEASURES }
  | { kind: 'builtin'; builtin: BuiltinName }
  | { kind: 'criterion'; criterion: string; measure: keyof typeof CRITERION_MEASURES }
  | { kind: 'question'; question: string; range?: [number, number]; categories?: string[] };

export interface SignalDefinition {
  name: string;
  type: SignalType;
  description?: string;
  source: SignalSource;
}

export interface SignalConfig {
  /** The model of rubric questions, and of friction points and clusters when enabled. */
  model?: string;
  frictionModel: boolean;
  clusterModel: boolean;
  signals: SignalDefinition[];
}

export const DEFAULT_ANALYSIS_MODEL = 'claude-sonnet-4-6';
export const EMPTY_SIGNAL_CONFIG: SignalConfig = { frictionModel: false, clusterModel: false, signals: [] };

export interface SignalConfigViolation {
  pointer: string;
  message: string;
  line: number;
  column: number;
}

export type SignalConfigResult = { ok: true; config: SignalConfig } | { ok: false; violations: SignalConfigViolation[] };

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(SIGNAL_CONFIG_SCHEMA);
const SOURCES = ['metric', 'pattern', 'builtin', 'criterion', 'question'] as const;

const esc = (t: string) => t.replace(/~/g, '~0').replace(/\//g, '~1');
const unesc = (t: string) => t.replace(/~1/g, '/').replace(/~0/g, '~');

/** Where a pointer's value stands (for a property: its key); the nearest existing ancestor otherwise. */
function offsetOf(doc: Document, pointer: string): number {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  for (const token of pointer.split('/').slice(1).map(unesc)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === token);
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(token)] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}

function messageOf(e: ErrorObject): { pointer: string; message: string } {
  switch (e.keyword) {
    case 'required':
      return { pointer: `${e.instancePath}/${esc(String(e.params.missingProperty))}`, message: 'is required' };
    case 'additionalProperties':
      return { pointer: `${e.instancePath}/${esc(String(e.params.additionalProperty))}`, message: 'is not a known field' };
    case 'enum':
      return { pointer: e.instancePath, message: `must be one of: ${(e.params.allowedValues as unknown[]).join(', ')}` };
    case 'pattern':
      return { pointer: e.instancePath, message: e.instancePath.endsWith('/name') ? 'must be lowercase letters, digits and _ (starting with a letter), at most 64' : `must match ${e.params.pattern}` };
    default:
      return { pointer: e.instancePath, message: e.message ?? 'is invalid' };
  }
}

/** The semantic rules JSON Schema cannot say well: one source per signal, types that fit it. */
function checkSignals(raw: Record<string, unknown>[]): { pointer: string; message: string }[] {
  const out: { pointer: string; message: string }[] = [];
  const seen = new Map<string, number>();
  raw.forEach((s, i) => {
    const at = (field: string) => `/signals/${i}${field ? `/${field}` : ''}`;
    const name = String(s.name);
    if (seen.has(name)) out.push({ pointer: at('name'), message: `duplicates the name of signal ${seen.get(name)}` });
    else seen.set(name, i);
    const present = SOURCES.filter((k) => s[k] !== undefined);
    if (present.length !== 1) {
      out.push({ pointer: present.length ? at(present[1]!) : at(''), message: `needs exactly one source: ${SOURCES.join(', ')} (has ${present.length ? present.join(', ') : 'none'})` });
      return;
    }
    const source = present[0]!;
    const type = s.type as SignalType;
    const fits = (expected: string, how: string) => {
      if (type !== expected) out.push({ pointer: at('type'), message: `must be ${expected}: ${how}` });
    };
    const only = (...fields: string[]) => {
      for (const f of ['flags', 'in', 'measure', 'range', 'categories']) if (s[f] !== undefined && !fields.includes(f)) out.push({ pointer: at(f), message: `does not apply to a ${source} signal` });
    };
    if (source === 'metric') {
      only();
      fits(METRICS[s.metric as MetricName], `metric ${String(s.metric)} is a ${METRICS[s.metric as MetricName]}`);
    } else if (source === 'pattern') {
      only('flags', 'in', 'measure');
      const measure = (s.measure as string | undefined) ?? 'matched';
      if (!(measure in PATTERN_MEASURES)) out.push({ pointer: at('measure'), message: `must be one of: ${Object.keys(PATTERN_MEASURES).join(', ')} for a pattern` });
      else fits(PATTERN_MEASURES[measure as keyof typeof PATTERN_MEASURES], `measure ${measure} of a pattern is a ${PATTERN_MEASURES[measure as keyof typeof PATTERN_MEASURES]}`);
      try {
        new RegExp(String(s.pattern), typeof s.flags === 'string' ? s.flags : '');
      } catch (err) {
        out.push({ pointer: at('pattern'), message: `is not a valid regular expression: ${(err as Error).message}` });
      }
    } else if (source === 'builtin') {
      only();
      fits('number', `builtin ${String(s.builtin)} is a count`);
    } else if (source === 'criterion') {
      only('measure');
      const measure = (s.measure as string | undefined) ?? 'passed';
      if (!(measure in CRITERION_MEASURES)) out.push({ pointer: at('measure'), message: `must be one of: ${Object.keys(CRITERION_MEASURES).join(', ')} for a criterion` });
      else fits(CRITERION_MEASURES[measure as keyof typeof CRITERION_MEASURES], `measure ${measure} of a criterion is a ${CRITERION_MEASURES[measure as keyof typeof CRITERION_MEASURES]}`);
    } else {
      only(...(type === 'number' ? ['range'] : type === 'category' ? ['categories'] : []));
      if (type === 'number' && s.range === undefined) out.push({ pointer: at('range'), message: 'is required for a number question: [min, max]' });
      if (type === 'number' && Array.isArray(s.range) && !((s.range[0] as number) < (s.range[1] as number))) out.push({ pointer: at('range'), message: 'must be [min, max] with min < max' });
      if (type === 'category' && s.categories === undefined) out.push({ pointer: at('categories'), message: 'is required for a category question' });
    }
  });
  return out;
}

function toDefinition(s: Record<string, unknown>): SignalDefinition {
  const base = { name: s.name as string, type: s.type as SignalType, ...(typeof s.description === 'string' ? { description: s.description } : {}) };
  if (s.metric !== undefined) return { ...base, source: { kind: 'metric', metric: s.metric as MetricName } };
  if (s.pattern !== undefined)
    return { ...base, source: { kind: 'pattern', pattern: s.pattern as string, flags: (s.flags as string | undefined) ?? '', in: (s.in as PatternScope[] | undefined) ?? [...PATTERN_SCOPES], measure: (s.measure as keyof typeof PATTERN_MEASURES | undefined) ?? 'matched' } };
  if (s.builtin !== undefined) return { ...base, source: { kind: 'builtin', builtin: s.builtin as BuiltinName } };
  if (s.criterion !== undefined) return { ...base, source: { kind: 'criterion', criterion: s.criterion as string, measure: (s.measure as keyof typeof CRITERION_MEASURES | undefined) ?? 'passed' } };
  return {
    ...base,
    source: { kind: 'question', question: s.question as string, ...(Array.isArray(s.range) ? { range: s.range as [number, number] } : {}), ...(Array.isArray(s.categories) ? { categories: s.categories as string[] } : {}) },
  };
}

/** Parses and checks a signal config file's text; every problem at once, with its position. */
export function parseSignalConfig(text: string): SignalConfigResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length) return { ok: false, violations: doc.errors.map((e) => ({ pointer: '', message: `YAML: ${e.message}`, ...at(e.pos[0]) })) };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, violations: [{ pointer: '', message: `YAML: ${(err as Error).message}`, line: 1, column: 1 }] };
  }
  if (value === null || value === undefined) return { ok: true, config: EMPTY_SIGNAL_CONFIG };
  const located = (v: { pointer: string; message: string }) => ({ ...v, ...at(offsetOf(doc, v.pointer)) });
  if (!validateSchema(value)) {
    const seen = new Set<string>();
    const violations = (validateSchema.errors ?? []).map(messageOf).filter((v) => !seen.has(`${v.pointer} ${v.message}`) && seen.add(`${v.pointer} ${v.message}`));
    return { ok: false, violations: violations.map(located) };
  }
  const cfg = value as { model?: string; frictionModel?: boolean; clusterModel?: boolean; signals?: Record<string, unknown>[] };
  const semantic = checkSignals(cfg.signals ?? []);
  if (semantic.length) return { ok: false, violations: semantic.map(located) };
  return {
    ok: true,
    config: {
      ...(cfg.model ? { model: cfg.model } : {}),
      frictionModel: cfg.frictionModel ?? false,
      clusterModel: cfg.clusterModel ?? false,
      signals: (cfg.signals ?? []).map(toDefinition),
    },
  };
}

/** Whether any part of the config needs a model. */
export function needsModel(cfg: SignalConfig): boolean {
  return cfg.frictionModel || cfg.clusterModel || cfg.signals.some((s) => s.source.kind === 'question');
}

export function describeViolations(file: string, violations: SignalConfigViolation[]): string[] {
  return violations.map((v) => `${file}:${v.line}:${v.column}: ${v.pointer || '(document)'}: ${v.message}`);
}

/**
 * The config's violations as API violations of the document that carries it (an experiment's
 * `/signalConfig`): the position inside the YAML file in the message and in line/column.
 */
export function signalConfigViolations(text: string, at = '/signalConfig'): { pointer: string; message: string; line: number; column: number; configPointer: string }[] {
  const r = parseSignalConfig(text);
  return r.ok ? [] : r.violations.map((v) => ({ pointer: at, message: `line ${v.line}, column ${v.column}: ${v.pointer || '(document)'}: ${v.message}`, line: v.line, column: v.column, configPointer: v.pointer }));
}
