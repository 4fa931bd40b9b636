/** The host's slot accounting behind the claim worker's poll permits (workers/hostSlots.ts). */
import { HostSlots } from '../../workers/hostSlots';
import { defaultHostSlots } from '../../config';

const never = new AbortController().signal;
const ctx = {} as never;

describe('HostSlots', () => {
  it('hands out poll permits only while held slots and permits stay under capacity', async () => {
    const slots = new HostSlots(2);
    const supplier = slots.supplier();
    await supplier.reserveSlot(ctx, never);
    slots.hold('run-a'); // the claim this permit served
    supplier.releaseSlot(ctx);
    await supplier.reserveSlot(ctx, never);
    expect(supplier.tryReserveSlot(ctx)).toBeNull();
    // The next reservation waits until a sandbox is destroyed.
    let granted = false;
    const waiting = supplier.reserveSlot(ctx, never).then(() => (granted = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(granted).toBe(false);
    slots.release('run-a');
    await waiting;
    expect(granted).toBe(true);
  });

  it('holds a run once however often it is claimed or provisioned', () => {
    const slots = new HostSlots(3);
    slots.hold('run-a');
    slots.hold('run-a');
    expect(slots.inUse).toBe(1);
    slots.release('run-a');
    slots.release('run-a');
    expect(slots.inUse).toBe(0);
  });

  it('frees, when reconciling, only old slots of runs that no longer need the host', async () => {
    const asked: string[][] = [];
    const slots = new HostSlots(2, async (ids) => {
      asked.push(ids);
      return ids.filter((id) => id === 'ended');
    });
    slots.hold('ended');
    slots.hold('young');
    // Claims younger than a minute are left alone (they may not have provisioned yet).
    expect(await slots.reconcile()).toBe(0);
    expect(asked).toEqual([]);
    const now = Date.now();
    const spy = jest.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    try {
      expect(await slots.reconcile()).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(asked).toEqual([['ended', 'young']]);
    expect(slots.heldRuns()).toEqual(['young']);
  });

  it('an aborted reservation rejects with AbortError', async () => {
    const slots = new HostSlots(1);
    slots.hold('run-a');
    const abort = new AbortController();
    const pending = slots.supplier().reserveSlot(ctx, abort.signal);
    abort.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('defaultHostSlots', () => {
  it('is a few per CPU, with at least 512 MiB of memory each, and never zero', () => {
    expect(defaultHostSlots(2, 24 * 1024 ** 3)).toBe(8);
    expect(defaultHostSlots(16, 2 * 1024 ** 3)).toBe(4);
    expect(defaultHostSlots(1, 100 * 1024 ** 2)).toBe(1);
  });
});
