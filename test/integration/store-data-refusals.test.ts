import { ApplicationFailure } from '@temporalio/common';
import type { PageRange, RunRef } from '../../src/contracts/run';
import { translateFailures } from '../../src/activities/failures';
import { isDataRefusal } from '../../src/store/errors';
import { useFreshStore } from '../harness/database';

// A value PostgreSQL refuses is a typed, non-retryable failure naming where it was — never a store
// outage retried for the whole window (which would fetch from Qualys again on every attempt).

const PAGE: PageRange = { index: 0, idMin: 1, idMax: 10, hosts: 10 };

function runRef(runKey: string): RunRef {
  return { connection: 'data-refusals', runKey, workflowId: `wf-${runKey}`, startedAt: new Date().toISOString() };
}

async function failureOf(step: () => Promise<unknown>): Promise<{ raw: unknown; failure: ApplicationFailure }> {
  const raw = await step().then(
    () => undefined,
    (e: unknown) => e,
  );
  const failure = await translateFailures(() => Promise.reject(raw)).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  return { raw, failure: failure as ApplicationFailure };
}

describe('a value the store refuses', () => {
  const db = useFreshStore();

  it('a NUL in a host\'s DNS name, staged as it is read: StoreDataDefect naming the table, column and field', async () => {
    const run = runRef('nul-dns');
    await db.store.beginRun(run, [PAGE], 10);
    const { raw, failure } = await failureOf(() =>
      db.store.stageStreamedPart(run, PAGE, 'hosts', async (emit) => {
        emit(JSON.stringify({ id: '1', ip: '10.0.0.1', dns: 'host\u0000one.example.com' }));
        emit(JSON.stringify({ id: '2', ip: '10.0.0.2', dns: 'two.example.com' }));
      }),
    );
    expect(isDataRefusal(raw)).toBe(true);
    expect((raw as { code?: string }).code).toBe('22P05');
    expect(failure.type).toBe('StoreDataDefect');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^The store refused a value in table staged_fetches, column body, row 1 of the COPY, field "dns": /);
    expect(failure.message).toContain('[SQLSTATE 22P05]');
    expect(failure.message).not.toContain('one.example.com'); // the data stays out of the message
    // Nothing was staged for the part.
    expect(await db.store.stagedPartLength(run, PAGE, 'hosts')).toBeUndefined();
  });

  it('a NUL in a KnowledgeBase title: StoreDataDefect naming the field', async () => {
    const { failure } = await failureOf(() =>
      db.store.saveKnowledgeBase('data-refusals', [{ qid: '6', cves: [], severity: 1, title: 'DNS Host\u0000Name' }]),
    );
    expect(failure.type).toBe('StoreDataDefect');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/field "title"/);
    expect(failure.message).toContain('[SQLSTATE 22P05]');
  });

  it('a byte sequence PostgreSQL refuses as text (22021) is one too; an outage or a constraint violation is not', async () => {
    const { raw, failure } = await failureOf(() => db.pool.query('SELECT convert_from($1::bytea, \'UTF8\')', [Buffer.from([0x66, 0x00, 0x6f])]));
    expect((raw as { code?: string }).code).toBe('22021');
    expect(failure.type).toBe('StoreDataDefect');
    expect(isDataRefusal(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isDataRefusal(new Error('Connection terminated unexpectedly'))).toBe(false);
    // A constraint (class 23) may be a race between attempts: it stays the store's ordinary, retried error.
    const insert = `INSERT INTO knowledge_base (connection, qid, cves) VALUES ('data-refusals', 'dup', '{}')`;
    await db.pool.query(insert);
    const duplicate = await db.pool.query(insert).catch((e: unknown) => e);
    expect((duplicate as { code?: string }).code).toBe('23505');
    expect(isDataRefusal(duplicate)).toBe(false);
  });
});
