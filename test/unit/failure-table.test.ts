// The failure table and everything derived from it: the Qualys error → Temporal failure mapping for
// every kind, the store's and the configuration's failures, the retry policy's non-retryable types, what
// a step that ran out of retries becomes, and the README's retry table.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ActivityFailure, ApplicationFailure, ApplicationFailureCategory, TimeoutFailure } from '@temporalio/common';
import { RETRY_TABLE_END, RETRY_TABLE_START, readmePath, renderRetryTable } from '../../src/cli/readme-retry-table';
import { ConfigError } from '../../src/config/errors';
import {
  FAILURE_TABLE,
  NON_RETRYABLE_FAILURE_TYPES,
  failureTypesOfQualysKind,
  qualysErrorKinds,
  type FailureKind,
  type FailureType,
  type QualysErrorKind,
} from '../../src/contracts/failure-table';
import type { CallLogEntry } from '../../src/contracts/calls';
import { DEFAULT_LIMIT_HANDLING, translateFailures, type FailureContext } from '../../src/activities/failures';
import { QualysError, type QualysErrorInit } from '../../src/qualys/errors';
import { RunIncompleteError, ShrinkGuardError, StagedPageMissingError } from '../../src/store/errors';
import { explainRetriesExhausted, stepOptions } from '../../src/workflows/step-policy';

/** What an activity throws for `error`, on the given attempt, with the waits it recorded. */
async function failureFor(error: unknown, attempt = 1, more: Partial<FailureContext> = {}): Promise<{ failure: ApplicationFailure; waits: CallLogEntry[] }> {
  const waits: CallLogEntry[] = [];
  const context: FailureContext = { limits: DEFAULT_LIMIT_HANDLING, attempt, recordWait: (entry) => waits.push(entry), ...more };
  const thrown = await translateFailures(() => Promise.reject(error), context).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(thrown instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(thrown)}`);
  return { failure: thrown, waits };
}

function qualysError(kind: QualysErrorKind, extra: Partial<QualysErrorInit> = {}): QualysError {
  return new QualysError({ kind, message: `a ${kind} failure`, fix: 'do this', endpoint: 'hostDetection', httpStatus: 409, ...extra });
}

/** The parts of a failure that decide what Temporal and the workflow do with it. */
function treatment(failure: ApplicationFailure): Record<string, unknown> {
  return {
    type: failure.type,
    nonRetryable: failure.nonRetryable,
    nextRetryDelay: failure.nextRetryDelay ?? undefined,
    benign: failure.category === ApplicationFailureCategory.BENIGN,
  };
}

describe('the failure table', () => {
  it('keeps the failure type names that histories, dashboards and alerts already hold', () => {
    expect(Object.keys(FAILURE_TABLE)).toEqual([
      'InvalidSyncInput',
      'ConfigError',
      'QualysAuthenticationFailed',
      'QualysAccountProblem',
      'QualysPermissionDenied',
      'QualysBadRequest',
      'QualysConfigError',
      'QualysMalformedResponse',
      'QualysConcurrencyLimited',
      'QualysRateLimited',
      'QualysRateLimitWait',
      'QualysServerError',
      'QualysNetworkError',
      'StagedPageMissing',
      'EstateShrankTooMuch',
      'TooManyRejectedRecords',
      'RunIncomplete',
      'StaleAttempt',
      'StoreDataDefect',
      'StoreSchemaMismatch',
      'QualysUnavailable',
      'StoreUnavailable',
    ]);
  });

  it('gives every Qualys error kind one failure to retry with, or one to wait on, or both', () => {
    for (const kind of qualysErrorKinds) {
      const entries = (Object.keys(FAILURE_TABLE) as FailureType[]).filter((type) => (FAILURE_TABLE[type] as FailureKind).qualysKind === kind);
      const waits = entries.filter((type) => FAILURE_TABLE[type].retry === 'rate-limit-wait');
      expect({ kind, waits: waits.length <= 1, others: entries.length - waits.length <= 1, any: entries.length >= 1 }).toEqual({
        kind,
        waits: true,
        others: true,
        any: true,
      });
      expect(() => failureTypesOfQualysKind(kind)).not.toThrow();
    }
  });

  it('gives the retry policy exactly the types no retry can fix', () => {
    expect(NON_RETRYABLE_FAILURE_TYPES).toEqual([
      'InvalidSyncInput',
      'ConfigError',
      'QualysAuthenticationFailed',
      'QualysAccountProblem',
      'QualysPermissionDenied',
      'QualysBadRequest',
      'QualysConfigError',
      'QualysRateLimitWait',
      'StagedPageMissing',
      'EstateShrankTooMuch',
      'TooManyRejectedRecords',
      'RunIncomplete',
      'StaleAttempt',
      'StoreDataDefect',
      'QualysUnavailable',
      'StoreUnavailable',
    ]);
    const settings = { retryWindowMinutes: 60, heartbeatTimeoutSeconds: 120 };
    expect(stepOptions('qualys', settings).retry?.nonRetryableErrorTypes).toEqual(NON_RETRYABLE_FAILURE_TYPES);
    expect(stepOptions('store', settings).retry?.nonRetryableErrorTypes).toEqual(NON_RETRYABLE_FAILURE_TYPES);
  });

  it('is pure data workflow code can load: no imports', () => {
    const source = readFileSync(path.join(__dirname, '../../src/contracts/failure-table.ts'), 'utf8');
    expect(source).not.toMatch(/^\s*import\b|\brequire\(/m);
  });

  it('is what the README\'s retry table says (run `npm run docs:retry-table` after changing it)', () => {
    const readme = readFileSync(readmePath(), 'utf8');
    const start = readme.indexOf(RETRY_TABLE_START);
    const end = readme.indexOf(RETRY_TABLE_END);
    expect(start).toBeGreaterThan(0);
    expect(readme.slice(start + RETRY_TABLE_START.length, end).trim()).toBe(renderRetryTable());
    // One row per failure type, and no cell that would split a row.
    const rows = renderRetryTable().split('\n').slice(2);
    expect(rows).toHaveLength(Object.keys(FAILURE_TABLE).length);
    for (const row of rows) expect(row.split(' | ')).toHaveLength(7);
  });
});

describe('a Qualys error becomes the Temporal failure the table says', () => {
  const cases: [string, QualysError, number, Record<string, unknown>, CallLogEntry[]][] = [
    ['authentication', qualysError('authentication'), 1, { type: 'QualysAuthenticationFailed', nonRetryable: true, nextRetryDelay: undefined, benign: false }, []],
    ['account', qualysError('account'), 1, { type: 'QualysAccountProblem', nonRetryable: true, nextRetryDelay: undefined, benign: false }, []],
    ['permission', qualysError('permission'), 1, { type: 'QualysPermissionDenied', nonRetryable: true, nextRetryDelay: undefined, benign: false }, []],
    ['bad-request', qualysError('bad-request'), 1, { type: 'QualysBadRequest', nonRetryable: true, nextRetryDelay: undefined, benign: false }, []],
    ['config', qualysError('config'), 1, { type: 'QualysConfigError', nonRetryable: true, nextRetryDelay: undefined, benign: false }, []],
    [
      'server, the step\'s first: after 5 s',
      qualysError('server'),
      1,
      { type: 'QualysServerError', nonRetryable: false, nextRetryDelay: '5s', benign: false },
      [{ type: 'wait', seconds: 5, reason: 'server' }],
    ],
    [
      'network, the step\'s first: after 5 s',
      qualysError('network'),
      1,
      { type: 'QualysNetworkError', nonRetryable: false, nextRetryDelay: '5s', benign: false },
      [{ type: 'wait', seconds: 5, reason: 'network' }],
    ],
    [
      'server, without the store\'s count on attempt 4: 5 s doubled three times',
      qualysError('server'),
      4,
      { type: 'QualysServerError', nonRetryable: false, nextRetryDelay: '40s', benign: false },
      [{ type: 'wait', seconds: 40, reason: 'server' }],
    ],
    [
      'network that will not heal (a bad certificate)',
      qualysError('network', { retryable: false }),
      1,
      { type: 'QualysNetworkError', nonRetryable: true, nextRetryDelay: undefined, benign: false },
      [],
    ],
    [
      'concurrency-limit, attempt 3: 15 s × 3',
      qualysError('concurrency-limit'),
      3,
      { type: 'QualysConcurrencyLimited', nonRetryable: false, nextRetryDelay: '45s', benign: true },
      [{ type: 'wait', seconds: 45, reason: 'concurrency-limit' }],
    ],
    [
      'concurrency-limit, attempt 20: at most 2 min',
      qualysError('concurrency-limit'),
      20,
      { type: 'QualysConcurrencyLimited', nonRetryable: false, nextRetryDelay: '120s', benign: true },
      [{ type: 'wait', seconds: 120, reason: 'concurrency-limit' }],
    ],
    [
      'rate-limit of 30 s: an activity retry after exactly that',
      qualysError('rate-limit', { waitSeconds: 30 }),
      1,
      { type: 'QualysRateLimited', nonRetryable: false, nextRetryDelay: '30s', benign: true },
      [{ type: 'wait', seconds: 30, reason: 'rate-limit' }],
    ],
    [
      'rate-limit without a wait: the concurrency delay',
      qualysError('rate-limit'),
      1,
      { type: 'QualysRateLimited', nonRetryable: false, nextRetryDelay: '15s', benign: true },
      [{ type: 'wait', seconds: 15, reason: 'rate-limit' }],
    ],
    [
      'rate-limit of an hour: a workflow timer',
      qualysError('rate-limit', { waitSeconds: 3600 }),
      1,
      { type: 'QualysRateLimitWait', nonRetryable: true, nextRetryDelay: undefined, benign: true },
      [],
    ],
    [
      'malformed-response, attempt 2: after 4 s',
      qualysError('malformed-response'),
      2,
      { type: 'QualysMalformedResponse', nonRetryable: false, nextRetryDelay: '4s', benign: false },
      [{ type: 'wait', seconds: 4, reason: 'malformed-response' }],
    ],
    [
      'malformed-response on the 4th attempt: giving up',
      qualysError('malformed-response'),
      4,
      { type: 'QualysMalformedResponse', nonRetryable: true, nextRetryDelay: undefined, benign: false },
      [],
    ],
    [
      'malformed-response of a shape the connector does not know: at once',
      qualysError('malformed-response', { retryable: false }),
      1,
      { type: 'QualysMalformedResponse', nonRetryable: true, nextRetryDelay: undefined, benign: false },
      [],
    ],
  ];

  it.each(cases)('%s', async (_name, error, attempt, expected, expectedWaits) => {
    const { failure, waits } = await failureFor(error, attempt);
    expect(treatment(failure)).toEqual(expected);
    expect(waits).toEqual(expectedWaits);
    expect(failure.message).toContain(`${error.message} — do this`);
    if (expected.type === 'QualysRateLimitWait') {
      expect(failure.details).toEqual([{ waitSeconds: 3600, endpoint: 'hostDetection' }]);
    } else {
      // Plain details only: never the error itself, whose cause chain could carry request details.
      expect(failure.details).toEqual([error.details()]);
      expect(failure.cause).toBeUndefined();
    }
  });

  it('covers every Qualys error kind', () => {
    const covered = new Set(cases.map(([, error]) => error.kind));
    expect([...covered].sort()).toEqual([...qualysErrorKinds].sort());
  });

  it('says when it gave up on an answer that stays the same', async () => {
    const { failure } = await failureFor(qualysError('malformed-response'), 4);
    expect(failure.message).toMatch(/\(the same failure on 4 attempts of this step: giving up\)$/);
  });

  it('counts such answers per step when the store can (attempts that ended otherwise do not count)', async () => {
    const counted = async (failuresSoFar: number, attempt: number): Promise<ApplicationFailure> =>
      (await failureFor(qualysError('malformed-response'), attempt, { countFailure: () => Promise.resolve(failuresSoFar) })).failure;
    // The 6th attempt, but only the 2nd answer that would not parse: retried.
    expect((await counted(2, 6)).nonRetryable).toBe(false);
    // The 4th such answer on the 4th attempt or later: given up.
    const gaveUp = await counted(4, 5);
    expect(gaveUp.nonRetryable).toBe(true);
    expect(gaveUp.message).toMatch(/\(the same failure on 4 attempts of this step: giving up\)$/);
  });
});

describe('a 5xx or a network error waits by the step\'s own count of them', () => {
  /** The failure for a step's `failuresSoFar`-th error of `kind`, met on `attempt`. */
  const counted = async (kind: 'server' | 'network', failuresSoFar: number, attempt: number): Promise<ApplicationFailure> => {
    const counts: QualysErrorKind[] = [];
    const { failure } = await failureFor(qualysError(kind), attempt, {
      countFailure: (k) => {
        counts.push(k);
        return Promise.resolve(failuresSoFar);
      },
    });
    expect(counts).toEqual([kind]);
    return failure;
  };

  it.each([
    ['server', 1, 7, '5s'],
    ['network', 1, 7, '5s'],
    ['server', 2, 7, '10s'],
    ['network', 4, 5, '40s'],
    ['server', 7, 8, '300s'],
    ['network', 30, 30, '300s'],
  ] as const)('%s error no. %i of the step on attempt %i: after %s', async (kind, failuresSoFar, attempt, delay) => {
    const failure = await counted(kind, failuresSoFar, attempt);
    expect(treatment(failure)).toMatchObject({ nonRetryable: false, nextRetryDelay: delay });
  });

  it('falls back to the attempt number when the store cannot count', async () => {
    const { failure } = await failureFor(qualysError('network'), 3, { countFailure: () => Promise.reject(new Error('database down')) });
    expect(failure.nextRetryDelay).toBe('20s');
  });
});

describe('the store\'s and the configuration\'s errors become the table\'s failures', () => {
  // What pg's DatabaseError carries for a value PostgreSQL refused (SQLSTATE class 22).
  const dataRefusal = Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05', table: 'staged_fetches', column: 'body' });

  it.each([
    ['ConfigError', new ConfigError('no such connection')],
    ['StagedPageMissing', new StagedPageMissingError('page 3 is gone')],
    ['EstateShrankTooMuch', new ShrinkGuardError('from 1000 to 10 hosts')],
    ['RunIncomplete', new RunIncompleteError('pages 2, 3 not uploaded')],
    ['StoreDataDefect', dataRefusal],
  ])('%s', async (type, error) => {
    const { failure } = await failureFor(error);
    expect(treatment(failure)).toEqual({ type, nonRetryable: true, nextRetryDelay: undefined, benign: false });
    expect(failure.message).toContain(error.message);
  });

  it('leaves any other error to the step\'s retries (a database that is down)', async () => {
    const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await expect(translateFailures(() => Promise.reject(outage))).rejects.toBe(outage);
  });
});

describe('a step that kept failing for its whole retry window', () => {
  const exhausted = (last: Error): ActivityFailure =>
    new ActivityFailure('activity failed', 'fetchPage', '1', 'TIMEOUT' as ActivityFailure['retryState'], 'worker', last);

  it.each([
    ['QualysServerError', 'QualysUnavailable'],
    ['QualysNetworkError', 'QualysUnavailable'],
    ['QualysConcurrencyLimited', 'QualysUnavailable'],
    ['Error', 'StoreUnavailable'],
  ])('last failing with %s becomes %s', (lastType, expected) => {
    const failure = explainRetriesExhausted(exhausted(ApplicationFailure.create({ type: lastType, message: 'still down' })), 'fetch page 1', 360);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(treatment(failure as ApplicationFailure)).toEqual({ type: expected, nonRetryable: true, nextRetryDelay: undefined, benign: false });
    expect((failure as ApplicationFailure).message).toContain(`in "fetch page 1" (last error ${lastType}: still down)`);
  });

  it('a step cut off by the window with no failure of its own becomes StoreUnavailable: "the step did not finish"', () => {
    const failure = explainRetriesExhausted(exhausted(new TimeoutFailure('timed out', undefined, 'SCHEDULE_TO_CLOSE')), 'commit', 30);
    expect((failure as ApplicationFailure).type).toBe('StoreUnavailable');
    expect((failure as ApplicationFailure).message).toMatch(/^the step did not finish for the run's whole retry window of 30 min in "commit"/);
  });

  it('passes any other failure on unchanged', () => {
    const failed = new ActivityFailure('activity failed', 'fetchPage', '1', 'NON_RETRYABLE_FAILURE' as ActivityFailure['retryState'], 'worker', ApplicationFailure.create({ type: 'QualysBadRequest' }));
    expect(explainRetriesExhausted(failed, 'fetch page 1', 360)).toBe(failed);
  });
});
