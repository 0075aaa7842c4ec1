/**
 * How a response body goes on the wire: compressed when the request's Accept-Encoding asks for it
 * (gzip preferred, then deflate; RFC 9110 §12.5.3 — identity is always acceptable, so the minimal
 * profile answers identity to stay fast), and in the realistic profile written as many HTTP chunks
 * cut inside multi-byte UTF-8 characters, so that a client decoding each chunk on its own breaks.
 * (Node sends each write as one chunk of the chunked transfer coding, and clients receive them as
 * separate pieces, however TCP groups them.)
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { deflate, gzip } from 'node:zlib';
import type { ContentProfile } from './profile';
import { Random } from './random';

export type BodyEncoding = 'gzip' | 'deflate' | 'identity';

const gzipAsync = promisify(gzip);
const deflateAsync = promisify(deflate);

/** Compression runs on libuv's thread pool; the fastest level keeps 20 MB pages quick (about 7:1 still). */
const COMPRESSION_LEVEL = 1;

/** The coding to answer with: the best-weighted of gzip and deflate the request accepts, else identity. */
export function negotiateEncoding(acceptEncoding: string | undefined): BodyEncoding {
  let best: BodyEncoding = 'identity';
  let bestWeight = 0;
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [rawName, ...parameters] = part.trim().toLowerCase().split(';');
    const name = rawName?.trim();
    const q = parameters.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    const weight = q === undefined ? 1 : Number(q);
    if (!(weight > 0)) continue;
    // gzip wins ties: listed first here, and only a strictly better weight replaces a choice.
    const candidate: BodyEncoding | undefined =
      name === 'gzip' || name === 'x-gzip' ? 'gzip' : name === 'deflate' ? 'deflate' : name === '*' ? 'gzip' : undefined;
    if (candidate === undefined) continue;
    if (weight > bestWeight || (weight === bestWeight && candidate === 'gzip' && best === 'deflate')) {
      best = candidate;
      bestWeight = weight;
    }
  }
  return best;
}

export async function encodeBody(body: Buffer, encoding: BodyEncoding): Promise<Buffer> {
  if (encoding === 'gzip') return gzipAsync(body, { level: COMPRESSION_LEVEL });
  if (encoding === 'deflate') return deflateAsync(body, { level: COMPRESSION_LEVEL });
  return body;
}

const isContinuationByte = (byte: number | undefined): boolean => byte !== undefined && (byte & 0xc0) === 0x80;

/**
 * Where to cut `body` into chunks of about `size` bytes: each cut moves forward, by at most
 * `reach` bytes, to land inside a multi-byte character (after its lead byte, before a continuation
 * byte) whenever one is near. The cuts are offsets, ascending, excluding 0 and the length.
 */
export function chunkCuts(body: Buffer, size: number, textual: boolean, reach = 512): number[] {
  const cuts: number[] = [];
  for (let at = size; at < body.length; at += size) {
    let cut = at;
    if (textual) {
      const limit = Math.min(body.length - 1, at + reach);
      let probe = at;
      while (probe < limit && !isContinuationByte(body[probe])) probe++;
      if (isContinuationByte(body[probe])) cut = probe;
    }
    if (cut > (cuts[cuts.length - 1] ?? 0)) cuts.push(cut);
    at = cut;
  }
  return cuts;
}

/** Chunk size of the realistic profile: small enough that a page crosses hundreds of boundaries. */
export const REALISTIC_CHUNK_BYTES = 16 * 1024;

async function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  if (res.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** When the body's last byte is due to leave (the simulated server time); until then the body streams. */
export interface Pace {
  lastByteAt: number;
  signal?: AbortSignal;
}

/** A body streamed over time goes out in writes of about this size (64 KiB: a few hundred timers for a 24 MB page). */
const PACED_WRITE_BYTES = 64 * 1024;

/** Waits until `at` (epoch ms); a wait of a few ms is not worth a timer. */
async function until(at: number, signal: AbortSignal | undefined): Promise<void> {
  const ms = at - Date.now();
  if (ms > 2) await delay(ms, undefined, { signal }).catch(() => undefined);
}

/** Waits until the body's last byte is due, for the transports that send a body all at once. */
export function untilLastByte(pace: Pace): Promise<void> {
  return until(pace.lastByteAt, pace.signal);
}

/**
 * Sends `body` (already encoded) as the profile writes it, then ends the response. The bytes leave
 * in proportion to the time left until `pace.lastByteAt` (compressed bytes track the body they
 * encode), so the client receives the body as a stream at the simulated rate.
 */
export async function sendBody(res: ServerResponse, body: Buffer, profile: ContentProfile, textual: boolean, pace: Pace): Promise<void> {
  const start = Date.now();
  const span = Math.max(0, pace.lastByteAt - start);
  if (profile === 'minimal' && span === 0) {
    res.end(body);
    return;
  }
  const cuts = profile === 'minimal' ? chunkCuts(body, PACED_WRITE_BYTES, false) : chunkCuts(body, REALISTIC_CHUNK_BYTES, textual);
  let from = 0;
  for (const cut of cuts) {
    if (span > 0) await until(start + (span * cut) / body.length, pace.signal);
    if (res.destroyed) return;
    await write(res, body.subarray(from, cut));
    from = cut;
  }
  if (span > 0) await until(start + span, pace.signal);
  if (!res.destroyed) res.end(body.subarray(from));
}

const PIECES_STREAM = 0x91ece;

/**
 * Sends `body` in writes of 1–9 bytes (sizes drawn from `seed`), each flushed before the next is
 * written, then ends the response: the client's reader meets every cut a network could make.
 */
export async function sendInPieces(res: ServerResponse, body: Buffer, seed: number): Promise<void> {
  res.socket?.setNoDelay(true);
  const r = new Random(seed, PIECES_STREAM, body.length);
  let from = 0;
  while (from < body.length) {
    if (res.destroyed) return;
    const to = Math.min(body.length, from + r.int(1, 9));
    await write(res, body.subarray(from, to));
    // Let the socket send it before the next piece joins it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    from = to;
  }
  if (!res.destroyed) res.end();
}
