/**
 * Failure clusters found by a model over the friction points of an iteration's failing
 * runs. The answer must partition the failing runs (every run in exactly one cluster); the
 * previous iteration's cluster names are offered so the same problem keeps its name.
 */
import { createHash } from 'node:crypto';
import type { AnalysisModel } from './model';
import { ROOT_CAUSE_CATEGORIES, type Cluster, type FailingRun, type PreviousCluster } from './clusters';
import { normalizeSignature } from './signature';
import type { FrictionKind } from './types';

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

function describe(r: FailingRun): string {
  const friction = r.friction.slice(0, 8).map((f) => `  - ${f.kind}: ${f.description}`);
  const criteria = r.failingCriteria.slice(0, 4).map((c) => `  - criterion '${c.name}' failed: ${c.evidence.slice(0, 300)}`);
  return [`run ${r.runId} (task ${r.taskId}, environment ${r.environmentId}${r.variant ? `, variant ${r.variant}` : ''})${r.failureMessage ? ` failure ${r.failureCategory}: ${r.failureMessage.slice(0, 300)}` : ''}`, ...friction, ...criteria].join('\n');
}

export async function modelClusters(model: AnalysisModel, modelName: string, runs: FailingRun[], previous: PreviousCluster[]): Promise<Cluster[]> {
  const ids = new Set(runs.map((r) => r.runId));
  const res = await model.ask<{ clusters: { name: string; rootCauseCategory: Cluster['rootCauseCategory']; rootCause: string; recommendedFix: string; runIds: string[] }[] }>({
    model: modelName,
    system: "You group an AI agent evaluation's failing runs by the root cause of their failure, for the team that builds the product the agents used.",
    prompt: [
      '<failing_runs>',
      ...runs.map(describe),
      '</failing_runs>',
      previous.length ? `<previous_cluster_names>\n${previous.map((p) => p.name).join('\n')}\n</previous_cluster_names>\nReuse a previous name exactly when a cluster is the same problem.` : '',
      'Group every failing run into exactly one cluster. For each cluster: a short name, the root cause category (product, documentation, environment, agent), the root cause, a recommended fix, and its run ids.',
    ].join('\n'),
    toolName: 'record_clusters',
    toolDescription: 'Record the failure clusters.',
    maxTokens: 4096,
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['clusters'],
      properties: {
        clusters: {
          type: 'array',
          minItems: 1,
          maxItems: 50,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'rootCauseCategory', 'rootCause', 'recommendedFix', 'runIds'],
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 100 },
              rootCauseCategory: { enum: [...ROOT_CAUSE_CATEGORIES] },
              rootCause: { type: 'string', minLength: 1, maxLength: 2000 },
              recommendedFix: { type: 'string', minLength: 1, maxLength: 2000 },
              runIds: { type: 'array', minItems: 1, items: { type: 'string' } },
            },
          },
        },
      },
    },
    check: (v) => {
      const seen = new Map<string, number>();
      for (const c of (v as { clusters: { runIds: string[] }[] }).clusters) for (const id of c.runIds) seen.set(id, (seen.get(id) ?? 0) + 1);
      const unknown = [...seen.keys()].filter((id) => !ids.has(id));
      const missing = [...ids].filter((id) => !seen.has(id));
      const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
      const names = (v as { clusters: { name: string }[] }).clusters.map((c) => c.name);
      return [
        unknown.length ? `unknown run ids: ${unknown.join(', ')}` : '',
        missing.length ? `runs in no cluster: ${missing.join(', ')}` : '',
        twice.length ? `runs in more than one cluster: ${twice.join(', ')}` : '',
        new Set(names).size !== names.length ? 'cluster names must be unique' : '',
      ].filter(Boolean).join('; ') || null;
    },
  });
  const byId = new Map(runs.map((r) => [r.runId, r]));
  return res.value.clusters.map((c) => {
    const members = c.runIds.map((id) => byId.get(id)!);
    const signature = `model: ${normalizeSignature(c.name)}`;
    return {
      name: c.name,
      key: createHash('sha256').update(signature).digest('hex').slice(0, 12),
      signature,
      source: 'model' as const,
      rootCauseCategory: c.rootCauseCategory,
      rootCause: c.rootCause,
      recommendedFix: c.recommendedFix,
      runIds: sorted(c.runIds),
      taskIds: sorted(members.map((r) => r.taskId)),
      environmentIds: sorted(members.map((r) => r.environmentId)),
      frictionKinds: sorted(members.flatMap((r) => r.friction.map((f) => f.kind))) as FrictionKind[],
    };
  });
}
