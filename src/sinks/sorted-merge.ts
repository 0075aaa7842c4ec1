import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Keyed {
  key: string;
}

/** Sorts records by key in the one order every sorted file of the sink uses (UTF-16 code units). */
export function compareKeys(a: Keyed, b: Keyed): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

interface Head<T> {
  record: T;
  source: number;
  next: AsyncIterator<string>;
}

/**
 * Merges JSON Lines files that are each sorted by `key` into one sorted stream, holding one line per
 * file in memory: a commit of a 100 000-host estate never loads the estate. Each record comes with the
 * index of the file it came from. Missing files count as empty.
 */
export async function* mergeSortedJsonLines<T extends Keyed>(files: readonly string[]): AsyncGenerator<{ record: T; source: number }> {
  const heap: Array<Head<T>> = [];
  const readNext = async (source: number, next: AsyncIterator<string>): Promise<void> => {
    for (;;) {
      const line = await next.next();
      if (line.done) return;
      if (line.value.trim() === '') continue;
      push(heap, { record: JSON.parse(line.value) as T, source, next });
      return;
    }
  };
  await Promise.all(
    files.map(async (file, source) => {
      if (!existsSync(file)) return;
      const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      await readNext(source, lines[Symbol.asyncIterator]());
    }),
  );
  while (heap.length > 0) {
    const head = pop(heap);
    yield { record: head.record, source: head.source };
    await readNext(head.source, head.next);
  }
}

/** Groups a key-sorted stream into runs of records with the same key. */
export async function* groupByKey<T extends Keyed>(
  stream: AsyncGenerator<{ record: T; source: number }>,
): AsyncGenerator<Array<{ record: T; source: number }>> {
  let group: Array<{ record: T; source: number }> = [];
  for await (const item of stream) {
    if (group.length > 0 && group[0].record.key !== item.record.key) {
      yield group;
      group = [];
    }
    group.push(item);
  }
  if (group.length > 0) yield group;
}

// A binary min-heap by (key, source): ties keep file order, so results are deterministic.
function less<T extends Keyed>(a: Head<T>, b: Head<T>): boolean {
  const byKey = compareKeys(a.record, b.record);
  return byKey < 0 || (byKey === 0 && a.source < b.source);
}

function push<T extends Keyed>(heap: Array<Head<T>>, item: Head<T>): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(heap[i], heap[parent])) break;
    [heap[i], heap[parent]] = [heap[parent], heap[i]];
    i = parent;
  }
}

function pop<T extends Keyed>(heap: Array<Head<T>>): Head<T> {
  const top = heap[0];
  const last = heap.pop() as Head<T>;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && less(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && less(heap[right], heap[smallest])) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
      i = smallest;
    }
  }
  return top;
}
