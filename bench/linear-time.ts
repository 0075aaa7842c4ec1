/**
 * `node lib/bench/linear-time.js`: how long the XML reader takes over bodies a hand-written tokenizer
 * once took quadratic time on, fed as a network would cut them — 16 MB of white space before the root
 * in 16 KiB chunks, a 1 MB attribute value in 64-byte chunks, and 4 000 distinct element names of one
 * length and first letter. Prints one JSON line of milliseconds (wall time, one run each after a warm-up).
 */
import { XmlBodyReader } from '../src/qualys/xml-body-reader';

const context = { endpoint: 'hostDetection' as const, httpStatus: 200 };

function readMs(body: Buffer, chunkBytes: number): number {
  const read = (): void => {
    const reader = new XmlBodyReader(context);
    for (let at = 0; at < body.length; at += chunkBytes) reader.writeBytes(body.subarray(at, at + chunkBytes));
    reader.end();
  };
  read();
  const started = performance.now();
  read();
  return Math.round(performance.now() - started);
}

const whitespace = Buffer.concat([Buffer.from(' '.repeat(16 * 1024 * 1024)), Buffer.from('<A>x</A>')]);
const attribute = Buffer.from(`<A v="${'x'.repeat(1024 * 1024)}">y</A>`);
const names = Buffer.from(`<A>${Array.from({ length: 4000 }, (_, i) => `<N${String(i).padStart(6, '0')}>v</N${String(i).padStart(6, '0')}>`).join('')}</A>`);

process.stdout.write(
  `${JSON.stringify({
    whitespace16MiBIn16KiBChunksMs: readMs(whitespace, 16 * 1024),
    attribute1MiBIn64ByteChunksMs: readMs(attribute, 64),
    names4000In64ByteChunksMs: readMs(names, 64),
  })}\n`,
);
