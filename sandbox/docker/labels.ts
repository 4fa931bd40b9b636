/** Labels on every sandbox container: how the reaper and the tests find them. */
export const LABELS = {
  managed: 'simlab.managed',
  run: 'simlab.run',
  iteration: 'simlab.iteration',
  organization: 'simlab.organization',
  host: 'simlab.host',
  /** Which simlab installation (database + Temporal namespace) owns the sandbox: a reaper
   * never touches another installation's sandboxes on a shared Docker engine. */
  deployment: 'simlab.deployment',
} as const;

export const containerName = (runId: string) => `simlab-${runId}`;
