/**
 * The activity factories: dependencies in, activities out. Two groups, because sandboxes
 * live on one Docker host: database work may run on any worker (shared task queue),
 * sandbox work must run on the worker whose Docker host holds the container.
 */
export { createRunActivities, type RunActivities, type RunPlan, type PreparedRun } from './runActivities';
export type { IterationStart } from '../store/iterations';
export { createSandboxActivities, type SandboxActivities, type SandboxActivityDeps, type ArchiveResult, type StepTransitions } from './sandboxActivities';
export { createAnalysisActivities, type AnalysisActivities, type AnalysisActivityDeps, type AnalyzeRunResult, type IterationResultsSummary } from './analysisActivities';
