import type { Attributes } from '@opentelemetry/api';
import { withSpan } from '../telemetry/spans';
import { ExposureStore } from './exposure-store';

type Store = ExposureStore;
type RunRef = Parameters<Store['beginRun']>[0];
type PageRange = Parameters<Store['stageStreamedPart']>[1];

/** What a write span says: which write, for which connection, run and page — never a connection string. */
function attributes(operation: string, run: Pick<RunRef, 'connection'> & Partial<Pick<RunRef, 'runKey'>>, page?: PageRange): Attributes {
  return {
    'db.system': 'postgresql',
    'db.operation.name': operation,
    'qualys.connection': run.connection,
    ...(run.runKey ? { 'qualys.run_key': run.runKey } : {}),
    ...(page ? { 'qualys.page_index': page.index } : {}),
  };
}

/**
 * The exposure store with a span around every write (src/telemetry/spans.ts), so a trace shows how long
 * PostgreSQL took for each page's staging, upload and the commit. Reads are not traced. With tracing
 * off the spans are no-ops.
 */
export class TracedExposureStore extends ExposureStore {
  override beginRun(...args: Parameters<Store['beginRun']>): ReturnType<Store['beginRun']> {
    return withSpan('store beginRun', attributes('beginRun', args[0]), () => super.beginRun(...args));
  }

  override stageStreamedPart(...args: Parameters<Store['stageStreamedPart']>): ReturnType<Store['stageStreamedPart']> {
    return withSpan(`store stageStreamedPart ${args[2]}`, attributes('stageStreamedPart', args[0], args[1]), () => super.stageStreamedPart(...args));
  }

  override uploadPage(...args: Parameters<Store['uploadPage']>): ReturnType<Store['uploadPage']> {
    return withSpan('store uploadPage', attributes('uploadPage', args[0], args[1]), () => super.uploadPage(...args));
  }

  override saveKnowledgeBase(...args: Parameters<Store['saveKnowledgeBase']>): ReturnType<Store['saveKnowledgeBase']> {
    return withSpan('store saveKnowledgeBase', { ...attributes('saveKnowledgeBase', { connection: args[0] }), 'qualys.qids': args[1].length }, () =>
      super.saveKnowledgeBase(...args),
    );
  }

  override appendCalls(...args: Parameters<Store['appendCalls']>): ReturnType<Store['appendCalls']> {
    return withSpan('store appendCalls', attributes('appendCalls', args[0]), () => super.appendCalls(...args));
  }

  override endRun(...args: Parameters<Store['endRun']>): ReturnType<Store['endRun']> {
    return withSpan('store endRun', attributes('endRun', args[0]), () => super.endRun(...args));
  }

  override commitRun(...args: Parameters<Store['commitRun']>): ReturnType<Store['commitRun']> {
    return withSpan('store commitRun', attributes('commitRun', args[0]), () => super.commitRun(...args));
  }
}
