// Helpers shared by the XML reading tests.
import { QualysError } from '../../src/qualys/errors';
import type { XmlContext, XmlDocument } from '../../src/qualys/xml';
import { XmlBodyReader, type RecordSink } from '../../src/qualys/xml-body-reader';

/** Feeds `body` as UTF-8 bytes cut every `size` bytes, as the HTTP client hands them over. */
export function readInChunks<T>(body: string | Buffer, size: number, context: XmlContext, sink?: RecordSink<T>): XmlDocument {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const reader = new XmlBodyReader(context, sink);
  for (let at = 0; at < bytes.length; at += size) reader.writeBytes(bytes.subarray(at, at + size));
  return reader.end();
}

/** The QualysError `run` throws (the test fails when it throws nothing, or something else). */
export function thrownQualysError(run: () => unknown): QualysError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(QualysError);
    return error as QualysError;
  }
  throw new Error('expected a QualysError');
}
