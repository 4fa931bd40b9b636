import { heartbeat } from '@temporalio/activity';

/**
 * Heartbeats every few seconds while a sandbox step runs, so a slow Docker call is never
 * mistaken for a dead worker and a cancellation reaches the step promptly.
 */
export async function steadyHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  heartbeat();
  const timer = setInterval(() => heartbeat(), 3000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
