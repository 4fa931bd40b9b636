/** The least a Temporal-orchestrated run could be: a workflow of `activities` no-op activities in a row (bench/temporalFloor.ts). */
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1m' });

export async function floorWorkflow(activities: number): Promise<void> {
  for (let i = 0; i < activities; i++) await noop();
}
