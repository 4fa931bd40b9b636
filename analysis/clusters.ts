/**
 * Failure clusters over an iteration's failing runs. Deterministic: each run's failure gets a
 * normalized signature (its failure message, else its most telling friction point, else its
 * first failing criterion); equal signatures group, similar ones (token Jaccard) merge. Names
 * are stable: a cluster like one of the previous iteration takes that cluster's name, so it
 * can be followed from one iteration to the next.
 */
import { createHash } from 'node:crypto';
import { jaccard, normalizeSignature, tokens } from './signature';
import type { FrictionKind, FrictionPoint } from './types';

export const ROOT_CAUSE_CATEGORIES = ['product', 'documentation', 'environment', 'agent'] as const;
export type RootCauseCategory = (typeof ROOT_CAUSE_CATEGORIES)[number];
export const SIMILARITY = 0.5;

export interface FailingRun {
  runId: string;
  taskId: string;
  environmentId: string;
  variant: string | null;
  failureCategory: string | null;
  failureMessage: string | null;
  failingCriteria: { name: string; evidence: string }[];
  friction: FrictionPoint[];
}

export interface Cluster {
  /** Stable across iterations: reused from the previous iteration when the failure is alike. */
  name: string;
  /** sha256 prefix of the signature: the same failure has the same key everywhere. */
  key: string;
  signature: string;
  source: 'model' | 'deterministic';
  rootCauseCategory: RootCauseCategory;
  rootCause: string;
  recommendedFix: string;
  runIds: string[];
  taskIds: string[];
  environmentIds: string[];
  frictionKinds: FrictionKind[];
}

export interface PreviousCluster {
  name: string;
  signature: string;
}

/** Most telling first: a specific cause says more than a generic error or a loop. */
const KIND_PRIORITY: FrictionKind[] = ['auth', 'missing_docs', 'environment', 'wrong_tool', 'timeout', 'error', 'non_zero_exit', 'retry_loop', 'stall'];

const CAUSE: Record<FrictionKind | 'setup' | 'criterion', { category: RootCauseCategory; label: string; fix: string }> = {
  auth: { category: 'product', label: 'Authentication failures', fix: 'Make the credential the agent needs available in the environment and make the product say clearly which credential is missing or wrong.' },
  missing_docs: { category: 'documentation', label: 'Missing documentation', fix: 'Publish the documentation page the agent looked for, at the address it tried, and link it from the docs index.' },
  environment: { category: 'environment', label: 'Environment problems', fix: 'Install or configure what the commands need in the environment image or init commands (tools, files, network, permissions).' },
  setup: { category: 'environment', label: 'Setup failures', fix: "Fix the environment's image, init files or init commands so the sandbox can be prepared." },
  wrong_tool: { category: 'agent', label: 'Wrong tool use', fix: "Describe the right tool or command in the task prompt or the product's quick start; consider a more capable agent configuration." },
  timeout: { category: 'agent', label: 'Timeouts', fix: 'Give the agent a clearer path (fewer steps) or more time; check for commands that hang waiting for input.' },
  error: { category: 'product', label: 'Errors', fix: 'Read the error in the member runs: make it actionable (say what to do next) or fix the failing behaviour.' },
  non_zero_exit: { category: 'agent', label: 'Failing commands', fix: 'Look at the failing command in the member runs and document its correct usage.' },
  retry_loop: { category: 'agent', label: 'Retry loops', fix: 'Make the error the agent retried on say what to change, so it stops repeating the same command.' },
  stall: { category: 'agent', label: 'Stalls', fix: 'Find what the agent waited on (a prompt for input, a slow service) and remove it.' },
  criterion: { category: 'agent', label: 'Goal not met', fix: 'Compare the failing criterion with what the agent did; clarify the task prompt where it was misread.' },
};

type Basis = { cause: keyof typeof CAUSE; signature: string; text: string };

/** Why one run failed, as a signature and the cause it points at. */
export function failureBasis(run: FailingRun): Basis {
  if (run.failureCategory === 'setup' && run.failureMessage) return { cause: 'setup', signature: `setup: ${normalizeSignature(run.failureMessage)}`, text: run.failureMessage };
  const points = [...run.friction].sort((a, b) => KIND_PRIORITY.indexOf(a.kind) - KIND_PRIORITY.indexOf(b.kind));
  const top = points[0];
  if (top) return { cause: top.kind, signature: `${top.kind}: ${top.signature}`, text: top.description };
  if (run.failureMessage) return { cause: run.failureCategory === 'agent' ? 'timeout' : 'error', signature: `${run.failureCategory ?? 'failed'}: ${normalizeSignature(run.failureMessage)}`, text: run.failureMessage };
  const c = run.failingCriteria[0];
  if (c) return { cause: 'criterion', signature: `criterion: ${normalizeSignature(`${c.name}: ${c.evidence.split('\n').find((l) => l.trim()) ?? ''}`)}`, text: `criterion '${c.name}' failed` };
  return { cause: 'criterion', signature: 'failed: no error recorded', text: 'the run failed without an error' };
}

const keyOf = (signature: string) => createHash('sha256').update(signature).digest('hex').slice(0, 12);
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

function nameFor(label: string, signature: string): string {
  const detail = signature.replace(/^[a-z_]+: /, '');
  return `${label}: ${detail.length > 60 ? `${detail.slice(0, 59)}…` : detail}`;
}

/** Reuses the most similar previous name (at or above SIMILARITY); each previous name once. */
export function stableNames(clusters: Cluster[], previous: PreviousCluster[]): Cluster[] {
  const taken = new Set<string>();
  const out = clusters.map((c) => {
    let best: { name: string; score: number } | null = null;
    for (const p of previous) {
      if (taken.has(p.name)) continue;
      const score = p.signature === c.signature ? 1 : jaccard(tokens(p.signature), tokens(c.signature));
      if (score >= SIMILARITY && (!best || score > best.score)) best = { name: p.name, score };
    }
    if (best) taken.add(best.name);
    return best ? { ...c, name: best.name } : c;
  });
  // Names are unique within an iteration.
  const seen = new Map<string, number>();
  return out.map((c) => {
    const n = (seen.get(c.name) ?? 0) + 1;
    seen.set(c.name, n);
    return n === 1 ? c : { ...c, name: `${c.name} (${n})` };
  });
}

export function deterministicClusters(runs: FailingRun[], previous: PreviousCluster[] = []): Cluster[] {
  const groups = new Map<string, { basis: Basis; runs: FailingRun[] }>();
  for (const r of [...runs].sort((a, b) => a.runId.localeCompare(b.runId))) {
    const basis = failureBasis(r);
    const g = groups.get(basis.signature) ?? { basis, runs: [] };
    g.runs.push(r);
    groups.set(basis.signature, g);
  }
  // Larger groups first, then by signature: merging is single-pass and order-independent of the input.
  const ordered = [...groups.values()].sort((a, b) => b.runs.length - a.runs.length || a.basis.signature.localeCompare(b.basis.signature));
  const merged: { basis: Basis; runs: FailingRun[]; tokens: Set<string> }[] = [];
  for (const g of ordered) {
    const t = tokens(g.basis.signature);
    const into = merged.find((m) => CAUSE[m.basis.cause].category === CAUSE[g.basis.cause].category && jaccard(m.tokens, t) >= SIMILARITY);
    if (into) into.runs.push(...g.runs);
    else merged.push({ ...g, runs: [...g.runs], tokens: t });
  }
  const clusters = merged.map(({ basis, runs: members }): Cluster => {
    const cause = CAUSE[basis.cause];
    const envs = sorted(members.map((r) => r.environmentId));
    const tasks = sorted(members.map((r) => r.taskId));
    return {
      name: nameFor(cause.label, basis.signature),
      key: keyOf(basis.signature),
      signature: basis.signature,
      source: 'deterministic',
      rootCauseCategory: cause.category,
      rootCause: `${members.length} failing run(s) on ${tasks.length} task(s) and ${envs.length} environment(s): ${basis.text}`,
      recommendedFix: cause.fix,
      runIds: sorted(members.map((r) => r.runId)),
      taskIds: tasks,
      environmentIds: envs,
      frictionKinds: sorted(members.flatMap((r) => r.friction.map((f) => f.kind))) as FrictionKind[],
    };
  });
  return stableNames(clusters, previous);
}
