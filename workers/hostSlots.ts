/**
 * A Docker host's capacity: at most `capacity` runs hold a sandbox slot on it at once.
 *
 * A run claims its host with `prepareRun`, which only this host's claim worker serves, and
 * that worker polls its (shared) claim queue only while the host has a free slot: the
 * custom slot supplier below hands Temporal a poll permit only then. So a full host takes
 * no more runs, they wait in Temporal, and any other host with room takes them.
 *
 * The slot is held from the claim until the run's sandbox is destroyed; a reconcile pass
 * frees slots of runs that ended or went elsewhere without telling us (a worker crash
 * mid-claim, a run that failed before it provisioned).
 */
import type { CustomSlotSupplier, SlotPermit, ActivitySlotInfo } from '@temporalio/worker';
import type { PrismaClient } from '../prisma/client';
import { TERMINAL_STATUSES } from '../domain/runLifecycle';

export class HostSlots {
  private readonly held = new Map<string, number>();
  private permits = 0;
  private waiters: Array<() => void> = [];

  private lastReconcile = 0;

  /**
   * `gone` names the held runs that no longer need this host (ended, or claimed by another
   * host after a lost claim); it is asked while the host is full, at most every 10 s.
   */
  constructor(
    readonly capacity: number,
    private readonly gone?: (runIds: string[]) => Promise<string[]>,
  ) {}

  get inUse(): number {
    return this.held.size;
  }

  heldRuns(): string[] {
    return [...this.held.keys()];
  }

  /** Idempotent: a retried claim or a provision after a worker restart holds the same slot. */
  hold(runId: string): void {
    if (!this.held.has(runId)) this.held.set(runId, Date.now());
  }

  release(runId: string): void {
    if (this.held.delete(runId)) this.wake();
  }

  /** Frees every held slot whose run no longer needs this host. */
  async reconcile(): Promise<number> {
    if (!this.gone || this.held.size === 0) return 0;
    this.lastReconcile = Date.now();
    // A claim younger than a minute may not have provisioned yet: leave it.
    const old = [...this.held].filter(([, since]) => Date.now() - since > 60_000).map(([id]) => id);
    if (old.length === 0) return 0;
    const freed = await this.gone(old);
    for (const id of freed) this.release(id);
    return freed.length;
  }

  /** Temporal's slot supplier for the claim worker: a poll permit only while a slot is free. */
  supplier(): CustomSlotSupplier<ActivitySlotInfo> {
    return {
      type: 'custom',
      reserveSlot: async (_ctx, abort): Promise<SlotPermit> => {
        while (!this.free()) {
          if (abort.aborted) throw abortError();
          if (Date.now() - this.lastReconcile > 10_000) {
            await this.reconcile().catch(() => undefined);
            if (this.free()) break;
          }
          await new Promise<void>((resolve) => {
            // Aborted while reconciling: the event has fired already.
            if (abort.aborted) return resolve();
            // Wake up to reconcile now and then, in case a run ended without telling us.
            const timer = setTimeout(done, 10_000);
            function done() {
              clearTimeout(timer);
              abort.removeEventListener('abort', done);
              resolve();
            }
            this.waiters.push(done);
            abort.addEventListener('abort', done, { once: true });
          });
        }
        this.permits++;
        return {};
      },
      tryReserveSlot: () => {
        if (!this.free()) return null;
        this.permits++;
        return {};
      },
      markSlotUsed: () => undefined,
      releaseSlot: () => {
        this.permits--;
        this.wake();
      },
    };
  }

  private free(): boolean {
    return this.held.size + this.permits < this.capacity;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

function abortError(): Error {
  const e = new Error('slot reservation aborted');
  e.name = 'AbortError';
  return e;
}

/** Held runs that ended, or whose sandbox lives on another host: their slots here are free. */
export function runsGoneFrom(prisma: PrismaClient, hostId: string): (runIds: string[]) => Promise<string[]> {
  return async (runIds) => {
    const rows = await prisma.run.findMany({
      where: {
        id: { in: runIds },
        OR: [{ status: { in: [...TERMINAL_STATUSES] } }, { AND: [{ sandboxHost: { not: null } }, { sandboxHost: { not: hostId } }] }],
      },
      select: { id: true },
    });
    return rows.map((r) => r.id);
  };
}
