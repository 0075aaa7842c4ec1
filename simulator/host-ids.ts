/**
 * Host and asset IDs as pure functions of (seed, index): ascending, with gaps, computable in O(1),
 * and invertible (the first index at or above an ID) without materialising anything.
 *
 * Host IDs come in groups of 16 indexes spread over a span of 64 IDs: inside a group most IDs are
 * consecutive (so Host List `ID_SET` has real `ID_RANGE`s) with occasional holes, and the unused tail
 * of each span leaves a gap before the next group — like a real subscription where hosts were added by
 * scans in bursts and some were purged.
 */
import { hashInts } from './random';

/** Module-local aliases: global lookups are slow inside jest's VM contexts (see random.ts). */
const floor = Math.floor;
const min = Math.min;
const max = Math.max;

const GROUP_SIZE = 16;
const GROUP_SPAN = 64; // > GROUP_SIZE + (GROUP_SIZE - 1) * MAX_HOLE, so groups never overlap
const MAX_HOLE = 3;
const HOLE_STREAM = 0x1d;

/** Asset IDs: ASSET_STRIDE apart plus a jitter below ASSET_STRIDE, so still strictly ascending. */
const ASSET_STRIDE = 7;
const ASSET_JITTER = 5;
const ASSET_STREAM = 0xa5;

export class HostIdSpace {
  readonly firstHostId: number;
  readonly firstAssetId: number;

  constructor(
    private readonly seed: number,
    readonly size: number,
  ) {
    // Real-looking magnitudes; the seed moves them so that different estates do not share IDs.
    this.firstHostId = 1_000_000 + (hashInts(seed, 0x105) % 9_000_000);
    this.firstAssetId = 10_000_000 + (hashInts(seed, 0xa55e7) % 80_000_000);
  }

  /** Holes before a position inside a group (0..MAX_HOLE), 80% of positions have none. */
  private hole(group: number, position: number): number {
    const h = hashInts(this.seed, HOLE_STREAM, group, position) % 100;
    return h < 80 ? 0 : 1 + (h % MAX_HOLE);
  }

  hostId(index: number): number {
    const group = floor(index / GROUP_SIZE);
    const position = index % GROUP_SIZE;
    let offset = position;
    for (let p = 1; p <= position; p++) offset += this.hole(group, p);
    return this.firstHostId + group * GROUP_SPAN + offset;
  }

  /** The first index whose host ID is ≥ id (size when none). */
  lowerBoundHostId(id: number): number {
    if (id <= this.firstHostId) return 0;
    const group = floor((id - this.firstHostId) / GROUP_SPAN);
    const start = group * GROUP_SIZE;
    if (start >= this.size) return this.size;
    for (let index = start; index < min(start + GROUP_SIZE, this.size); index++) {
      if (this.hostId(index) >= id) return index;
    }
    return min(start + GROUP_SIZE, this.size);
  }

  /** The index of exactly this host ID, or undefined. */
  indexOfHostId(id: number): number | undefined {
    const index = this.lowerBoundHostId(id);
    return index < this.size && this.hostId(index) === id ? index : undefined;
  }

  assetId(index: number): number {
    return this.firstAssetId + index * ASSET_STRIDE + (hashInts(this.seed, ASSET_STREAM, index) % ASSET_JITTER);
  }

  /** The first index whose asset ID is ≥ id (size when none). */
  lowerBoundAssetId(id: number): number {
    if (id <= this.firstAssetId) return 0;
    let index = max(0, floor((id - this.firstAssetId - ASSET_JITTER) / ASSET_STRIDE));
    while (index < this.size && this.assetId(index) < id) index++;
    return min(index, this.size);
  }

  indexOfAssetId(id: number): number | undefined {
    const index = this.lowerBoundAssetId(id);
    return index < this.size && this.assetId(index) === id ? index : undefined;
  }
}
