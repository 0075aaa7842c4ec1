import { inLanes } from '../../src/lanes/in-lanes';

/** A step that ends when the test says so, so tests decide the order in which lanes finish. */
function gate(): { promise: Promise<void>; open(): void; fail(error: unknown): void } {
  let open!: () => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('inLanes', () => {
  it('takes items in order, never more than the lanes at once, each as soon as a lane is free', async () => {
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const done = inLanes([0, 1, 2, 3, 4], 2, async (i) => {
      started.push(i);
      most = Math.max(most, ++running);
      await gates[i].promise;
      running -= 1;
    });
    await tick();
    expect(started).toEqual([0, 1]);
    gates[1].open();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    await done;
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it('starts at the cursor and moves it, and stops taking items once asked to', async () => {
    const cursor = { next: 2 };
    const seen: number[] = [];
    await inLanes([0, 1, 2, 3, 4, 5], 1, async (i) => void seen.push(i), { cursor, stopTaking: () => seen.length === 2 });
    expect(seen).toEqual([2, 3]);
    expect(cursor.next).toBe(4);
  });

  it('after a failure takes no more items, lets every lane end, then throws the first failure', async () => {
    const slow = gate();
    const seen: number[] = [];
    const told: unknown[] = [];
    let slowEnded = false;
    const done = inLanes(
      [0, 1, 2, 3],
      2,
      async (i) => {
        seen.push(i);
        if (i === 0) {
          await slow.promise.catch(() => undefined);
          slowEnded = true;
          throw new Error('second failure');
        }
        throw new Error('first failure');
      },
      { onFailure: (error) => told.push(error) },
    );
    let settled = false;
    void done.catch(() => undefined).then(() => (settled = true));
    await tick();
    expect(settled).toBe(false); // lane 0 still runs
    slow.open();
    await expect(done).rejects.toThrow('first failure');
    expect(slowEnded).toBe(true);
    expect(seen).toEqual([0, 1]);
    expect(told).toHaveLength(2);
  });

  it('reports a later failure instead when `prefer` says so', async () => {
    const done = inLanes(
      ['cancelled', 'real'],
      2,
      async (kind) => {
        if (kind === 'real') await tick();
        throw new Error(kind);
      },
      { prefer: (later, kept) => (kept as Error).message === 'cancelled' && (later as Error).message !== 'cancelled' },
    );
    await expect(done).rejects.toThrow('real');
  });
});
