/**
 * Deterministic pseudo-randomness. Every generated fact is a pure function of (seed, index, stream),
 * so any host can be produced on its own, in any order, without materialising the estate.
 */

/**
 * Module-local aliases: inside jest's VM contexts every access to a global such as `Math` goes through
 * a slow interceptor (about 50x slower), and these functions run millions of times.
 */
const imul = Math.imul;
const floor = Math.floor;

/** Murmur3's 32-bit finaliser: a cheap, well-mixing integer hash. */
function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes up to five 32-bit integers into one unsigned 32-bit integer. Fixed arity on purpose: rest
 * parameters and for-of are far slower inside jest's VM contexts, and this runs millions of times.
 */
export function hashInts(a: number, b = 0, c = 0, d = 0, e = 0): number {
  let h = 0x9e3779b9;
  h = mix32(h ^ mix32(a + 0x7f4a7c15));
  h = mix32(h ^ mix32(b + 0x7f4a7c15));
  h = mix32(h ^ mix32(c + 0x7f4a7c15));
  h = mix32(h ^ mix32(d + 0x7f4a7c15));
  h = mix32(h ^ mix32(e + 0x7f4a7c15));
  return h;
}

/** A small seeded generator (mulberry32) for sequences of draws belonging to one record. */
export class Random {
  private state: number;

  constructor(a: number, b = 0, c = 0, d = 0) {
    this.state = hashInts(a, b, c, d);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Picks by weight: `[[value, weight], …]`. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.next() * total;
    for (const [value, weight] of choices) {
      roll -= weight;
      if (roll < 0) return value;
    }
    const last = choices[choices.length - 1];
    if (last === undefined) throw new Error('weighted pick from an empty list');
    return last[0];
  }

  hex(digits: number): string {
    let out = '';
    for (let i = 0; i < digits; i++) out += floor(this.next() * 16).toString(16);
    return out;
  }
}
