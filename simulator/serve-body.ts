/**
 * How a response body goes on the wire: compressed when the request's Accept-Encoding asks for it
 * (gzip preferred, then deflate; RFC 9110 §12.5.3 — identity is always acceptable, so the minimal
 * profile answers identity to stay fast), and in the realistic profile written as many HTTP chunks
 * cut inside multi-byte UTF-8 characters, so that a client decoding each chunk on its own breaks.
 * (Node sends each write as one chunk of the chunked transfer coding, and clients receive them as
 * separate pieces, however TCP groups them.)
 */
import type { ServerResponse } from 'node:http';
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

/** Sends `body` (already encoded) as the profile writes it, then ends the response. */
export async function sendBody(res: ServerResponse, body: Buffer, profile: ContentProfile, textual: boolean): Promise<void> {
  if (profile === 'minimal') {
    res.end(body);
    return;
  }
  let from = 0;
  for (const cut of chunkCuts(body, REALISTIC_CHUNK_BYTES, textual)) {
    if (res.destroyed) return;
    await write(res, body.subarray(from, cut));
    from = cut;
  }
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
