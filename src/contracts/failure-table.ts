// Every way a run's step can fail, once: its Temporal failure type, how it is retried, what the run says
// and what a person should do. Activities turn errors into failures from it, the workflow's retry
// policies and rate-limit gate read it, and the README's retry table is generated from it. Pure data
// and no imports: workflow code loads this file.

/** The kinds of failure the Qualys client reports (`QualysError.kind`). */
export const qualysErrorKinds = [
  'authentication',
  'account',
  'permission',
  'concurrency-limit',
  'rate-limit',
  'bad-request',
  'server',
  'network',
  'malformed-response',
  'config',
] as const;

export type QualysErrorKind = (typeof qualysErrorKinds)[number];

/**
 * Exponential backoff against a Qualys that is down or out of reach: also the Qualys steps' retry policy,
 * for the attempts that end without a Qualys failure (a worker killed or paused, the database down).
 */
export const QUALYS_BACKOFF = { initialSeconds: 5, coefficient: 2, maxSeconds: 300 } as const;

/** How soon a retryable failure is tried again. */
export type RetryDelay =
  /**
   * `initialSeconds` × `coefficient`^(n − 1) before the next attempt after the step's n-th failure of this
   * kind, at most `maxSeconds`: n is counted in the store across the step's attempts and workers, so
   * attempts that ended otherwise (a burst of 409s, a worker killed) do not lengthen the wait.
   */
  | { after: 'step-backoff'; initialSeconds: number; coefficient: number; maxSeconds: number }
  /** Exactly as long as Qualys asked (the worker's concurrency retry delay when it did not say). */
  | { after: 'qualys-wait' }
  /** `seconds` × the attempt number, at most `maxSeconds`; 'concurrency-setting' is the worker's concurrency retry delay. */
  | { after: 'per-attempt'; seconds: number | 'concurrency-setting'; maxSeconds?: number };

interface FailureKindDocs {
  /** What reports it: the Qualys client, the store, the worker's configuration or the workflow itself. */
  raisedBy: 'qualys' | 'store' | 'worker' | 'workflow';
  /** The Qualys client's error kind that becomes this failure. */
  qualysKind?: QualysErrorKind;
  /** What happened, in a person's words. */
  cause: string;
  /** How it is retried, in a person's words ('—' when it is not). */
  how: string;
  /** What the run does and says. */
  runSays: string;
  /** What a person should do. */
  userDoes: string;
  /** The tests that show it (file, and test title where one test shows it best). */
  tests: string;
}

/**
 * One failure type and its treatment (`retry`): not retried (a person must change something first),
 * retried within the run's retry window, or waited out on a durable workflow timer after which the step
 * runs again.
 */
export type FailureKind =
  | (FailureKindDocs & { retry: 'non-retryable' })
  | (FailureKindDocs & {
      retry: 'retryable';
      delay: RetryDelay;
      /** Attempts before the run gives up on an answer that stays the same (otherwise: the retry window). */
      attempts?: number;
      /** An expected answer (a Qualys limit), not an error: Temporal counts and logs it as benign. */
      benign?: true;
    })
  | (FailureKindDocs & {
      retry: 'rate-limit-wait';
      /** What the workflow's timer says it waits for (shown in the Web UI). */
      timerSummary: string;
    });

export const FAILURE_TABLE = {
  InvalidSyncInput: {
    raisedBy: 'workflow',
    retry: 'non-retryable',
    cause: 'bad input',
    how: '—',
    runSays: 'fails at once naming the field',
    userDoes: 'correct the input (the message names the field and gives an example)',
    tests: '`sync-input`',
  },
  ConfigError: {
    raisedBy: 'worker',
    retry: 'non-retryable',
    cause: 'an unknown connection profile, a half-configured connection, a connections file that is not valid',
    how: '—',
    runSays: 'fails at once with the fix',
    userDoes: "fix the worker's connection settings, then start a new run",
    tests: '`qualys-sync` "an unknown connection profile …"',
  },
  QualysAuthenticationFailed: {
    raisedBy: 'qualys',
    qualysKind: 'authentication',
    retry: 'non-retryable',
    cause: 'Qualys rejects the login (CODE 2000, HTTP 401): a wrong password, a user without API access, or the wrong platform',
    how: '—',
    runSays: 'fails at once naming the three possible causes',
    userDoes: 'check the password in the Qualys UI, the "API" tick on the user\'s role, and the API URL (Help → About)',
    tests: '`qualys-sync` "a bad password …", `qualys-client-errors` "401 / CODE 2000 …"',
  },
  QualysAccountProblem: {
    raisedBy: 'qualys',
    qualysKind: 'account',
    retry: 'non-retryable',
    cause: 'a locked, expired or inactive account (CODE 2001–2099, HTTP 403)',
    how: '—',
    runSays: 'fails at once with the fix',
    userDoes: 'have a Qualys Manager or Qualys Support re-enable the account',
    tests: '`qualys-client-errors` "CODE 2001 …", "HTTP 403 …"',
  },
  QualysPermissionDenied: {
    raisedBy: 'qualys',
    qualysKind: 'permission',
    retry: 'non-retryable',
    cause: 'missing permission (KnowledgeBase, Asset View), an expired evaluation',
    how: '—',
    runSays: 'fails at once naming the permission',
    userDoes: "give the user's role the permission the message names",
    tests: '`qualys-sync` "a user without KnowledgeBase access …"',
  },
  QualysBadRequest: {
    raisedBy: 'qualys',
    qualysKind: 'bad-request',
    retry: 'non-retryable',
    cause: 'Qualys refuses the request (CODE 1901, 1905 …)',
    how: '—',
    runSays: 'fails at once with Qualys\' CODE and TEXT',
    userDoes: 'report the message to the connector\'s maintainers (a parameter the subscription does not allow, or a bug)',
    tests: '`qualys-client-errors` "400 / CODE 1905 …"',
  },
  QualysConfigError: {
    raisedBy: 'qualys',
    qualysKind: 'config',
    retry: 'non-retryable',
    cause: 'the UI host instead of the API host, a redirect, a proxy asking for credentials, a bad CA file',
    how: '—',
    runSays: 'fails at once with the fix',
    userDoes: 'set the API URL (Help → About in the Qualys UI), the proxy URL or the CA file as the message says',
    tests: '`qualys-client-errors` "404 …", "a redirect …"',
  },
  QualysMalformedResponse: {
    raisedBy: 'qualys',
    qualysKind: 'malformed-response',
    retry: 'retryable',
    delay: { after: 'per-attempt', seconds: 2 },
    attempts: 4,
    cause:
      'a body cut short or not well-formed XML; not retried: a record that cannot be read (no host ID, no QID, a broken ' +
      'structure: `… DETECTION[0].QID (HOST ID 120 › DETECTION QID 38170x): …`), an envelope of a shape the connector does ' +
      'not know, a body past one of the reader\'s limits (depth, record or envelope size, an unfinished construct) or in ' +
      'an encoding the connector cannot read',
    how:
      'after 2 s, 4 s, 6 s; 4 such answers to the step at most, counted in the store across its attempts and workers ' +
      '(attempts that ended otherwise — a 5xx, a worker killed or paused — do not count)',
    runSays:
      'fails: "the same failure on 4 attempts of this step: giving up"; the others fail at once, naming the element and the host ' +
      'or QID, or the limit (`… more than 64 elements open at once (limit depth) …`); a value of unexpected form in an ' +
      'optional field is dropped and counted instead (see "Reading Qualys XML")',
    userDoes: 'if it persists, use smaller pages (`pageSize`); report a record or shape the connector cannot read to its maintainers',
    tests:
      '`run-control` "a response that never parses …", `chaos-findings` "seed 7, run 1", ' +
      '`qualys-client-errors` "a record that cannot be read …", ' +
      '`qualys-hostile-answers`, `qualys-records-lenient`',
  },
  QualysConcurrencyLimited: {
    raisedBy: 'qualys',
    qualysKind: 'concurrency-limit',
    retry: 'retryable',
    delay: { after: 'per-attempt', seconds: 'concurrency-setting', maxSeconds: 120 },
    benign: true,
    cause: 'concurrency limit (409, CODE 1960)',
    how: '15 s × attempt, at most 2 min',
    runSays: 'retry window → `QualysUnavailable`',
    userDoes: 'nothing; if it is frequent, run fewer other Qualys tools at the same time',
    tests: '`qualys-sync` "limits: …"',
  },
  QualysRateLimited: {
    raisedBy: 'qualys',
    qualysKind: 'rate-limit',
    retry: 'retryable',
    delay: { after: 'qualys-wait' },
    benign: true,
    cause: 'short rate limit (CODE 1965, wait ≤ 60 s)',
    how: "exactly Qualys' wait",
    runSays: 'retry window → `QualysUnavailable`',
    userDoes: 'nothing',
    tests: '`qualys-sync` "limits: …"',
  },
  QualysRateLimitWait: {
    raisedBy: 'qualys',
    qualysKind: 'rate-limit',
    retry: 'rate-limit-wait',
    timerSummary: 'Qualys rate limit',
    cause: 'long rate limit (CODE 1965, wait > 60 s)',
    how: 'a durable timer; the whole run pauses, then the step runs again with a fresh window',
    runSays: 'never: Qualys says when',
    userDoes: 'nothing; the run\'s current details say until when it waits',
    tests: '`qualys-sync` "limits: …"',
  },
  QualysServerError: {
    raisedBy: 'qualys',
    qualysKind: 'server',
    retry: 'retryable',
    delay: { after: 'step-backoff', ...QUALYS_BACKOFF },
    cause: "Qualys 5xx (CODE 999, a maintenance window), a proxy's error page",
    how: 'after 5 s, doubling with each 5xx the step met (counted in the store across its attempts and workers; 409s and other failures do not count), at most 5 min',
    runSays: 'retry window → `QualysUnavailable`',
    userDoes: "nothing; if the run fails, check Qualys' status page, then start a new run",
    tests: '`run-control` "a Qualys outage longer than the retry window …", `chaos-findings` "seed 20261203, run 12"',
  },
  QualysNetworkError: {
    raisedBy: 'qualys',
    qualysKind: 'network',
    retry: 'retryable',
    delay: { after: 'step-backoff', ...QUALYS_BACKOFF },
    cause: 'network error, reset, timeout; not retried: an unknown host name, a certificate that will not verify',
    how: 'after 5 s, doubling with each network error the step met (counted in the store across its attempts and workers; 409s and other failures do not count), at most 5 min',
    runSays: 'retry window → `QualysUnavailable`; an unknown host or a bad certificate fails at once',
    userDoes: 'check the network, proxy and API URL between the worker and Qualys',
    tests: '`qualys-client-errors` "transport failures", `chaos-findings` "seed 20261203, run 12"',
  },
  StagedPageMissing: {
    raisedBy: 'store',
    retry: 'non-retryable',
    cause: 'the run was taken over by a later run (its staging is gone)',
    how: '—',
    runSays: 'fails',
    userDoes: 'nothing: the later run goes on',
    tests: '`store-refusals`',
  },
  EstateShrankTooMuch: {
    raisedBy: 'store',
    retry: 'non-retryable',
    cause: 'the estate shrank too much',
    how: '—',
    runSays: 'fails, names both counts',
    userDoes: 'check the Qualys user\'s scope; if the estate did shrink, run again with `allowShrink`',
    tests: '`store-lifecycle` "shrink guard …"',
  },
  TooManyRejectedRecords: {
    raisedBy: 'store',
    retry: 'non-retryable',
    cause: 'more of the records Qualys sent could not be read than `maxRejectedShare` allows (default 0.001 of the records read)',
    how: '—',
    runSays:
      'fails before the commit naming the count, the share, the first records and reasons; nothing committed (the records stay in `rejected_records`)',
    userDoes:
      "read the run's rows in `rejected_records` and report them to the connector's maintainers; to commit anyway, run again with a larger `maxRejectedShare`",
    tests: '`quarantine` "past maxRejectedShare …"',
  },
  RunIncomplete: {
    raisedBy: 'store',
    retry: 'non-retryable',
    cause: 'a page of the page list not uploaded at commit',
    how: '—',
    runSays: 'fails naming the pages',
    userDoes: 'start a new run; report it to the connector\'s maintainers',
    tests: '`store-refusals`',
  },
  StaleAttempt: {
    raisedBy: 'store',
    retry: 'non-retryable',
    cause:
      "an attempt of a page's upload resumed after a later attempt took the page over (a stopped process, a long pause)",
    how: '—',
    runSays: 'that attempt writes nothing (the later one stages the page once); the run goes on',
    userDoes: 'nothing',
    tests: '`overlapping-attempts`, `store-refusals`',
  },
  StoreDataDefect: {
    raisedBy: 'store',
    retry: 'non-retryable',
    cause:
      'a value the store refuses (a `\\u0000` a text or jsonb column cannot hold, an invalid byte sequence: SQLSTATE class 22), ' +
      "or the commit's data refused as a defect (class 21 cardinality, 23 constraint), or a staged record that does not " +
      'follow the schema it is read back through (staged by a connector whose records differ, or altered in the store)',
    how: '—',
    runSays:
      'fails at once naming the table, column and JSON field (`… in table staged_fetches, column body, row 1 of the COPY, ' +
      'field "dns": unsupported Unicode escape sequence …`), or the SQLSTATE, table and constraint, or the staged record and ' +
      'the field that does not fit — never retried as an ' +
      'outage, so Qualys is not asked again; nothing committed',
    userDoes: "report the message to the connector's maintainers",
    tests: '`store-data-refusals`, `store-refusals`, `staged-pages`',
  },
  StoreSchemaMismatch: {
    raisedBy: 'store',
    retry: 'retryable',
    delay: { after: 'per-attempt', seconds: 30, maxSeconds: 300 },
    cause:
      "a statement the store refuses as not fitting its schema or the connector's grants (SQLSTATE class 42: a column, " +
      "table or function it lacks, a missing privilege): a worker of another version than the store's migrations, or a " +
      'role set up by hand',
    how: '30 s × attempt, at most 5 min: a retry may run on a worker of the store\'s version, or after the grant is given',
    runSays: "retries, each attempt's failure quoting PostgreSQL's words and the SQLSTATE; retry window → `StoreUnavailable`",
    userDoes: 'run every worker at one version (README, "Upgrading"), or grant the connector\'s role what the message names',
    tests: '`store-refusals` "a statement the store\'s schema refuses …"',
  },
  QualysUnavailable: {
    raisedBy: 'workflow',
    retry: 'non-retryable',
    cause: 'a Qualys step kept failing for the whole retry window',
    how: '—',
    runSays: 'fails naming the step, the window and the last error',
    userDoes: "check Qualys' status page, the network and the proxy, then start a new run",
    tests: '`run-control` "a Qualys outage longer than the retry window …"',
  },
  StoreUnavailable: {
    raisedBy: 'workflow',
    retry: 'non-retryable',
    cause: 'a store step kept failing for the whole retry window',
    how: '—',
    runSays: 'fails naming the step, the window and the last error',
    userDoes: 'bring the database back, then start a new run',
    tests: '`run-control` "a store that stays down …"',
  },
} as const satisfies Readonly<Record<string, FailureKind>>;

/** A Temporal failure type the connector raises. */
export type FailureType = keyof typeof FAILURE_TABLE;

/** The table's entry for a failure type, if it is one of ours. */
export function failureKindOf(type: string | null | undefined): FailureKind | undefined {
  return typeof type === 'string' && Object.hasOwn(FAILURE_TABLE, type) ? FAILURE_TABLE[type as FailureType] : undefined;
}

/** Failure types no retry can fix (the retry policy's `nonRetryableErrorTypes`); a rate-limit wait is the workflow's, not a retry's. */
export const NON_RETRYABLE_FAILURE_TYPES: readonly FailureType[] = failureTypesWhere((kind) => kind.retry !== 'retryable');

/** What a step that kept failing for the whole retry window becomes. */
export function failureWhenRetriesRunOut(lastType: string | null | undefined): 'QualysUnavailable' | 'StoreUnavailable' {
  return failureKindOf(lastType)?.raisedBy === 'qualys' ? 'QualysUnavailable' : 'StoreUnavailable';
}

/** Where a Qualys error kind goes: `retry` for an activity retry, `wait` for a workflow timer (at least one of them). */
export type QualysFailureTypes = { retry: FailureType; wait?: FailureType } | { retry?: FailureType; wait: FailureType };

export function failureTypesOfQualysKind(qualysKind: QualysErrorKind): QualysFailureTypes {
  const types = failureTypesWhere((kind) => kind.qualysKind === qualysKind);
  const retry = types.find((type) => FAILURE_TABLE[type].retry !== 'rate-limit-wait');
  const wait = types.find((type) => FAILURE_TABLE[type].retry === 'rate-limit-wait');
  if (retry !== undefined) return { retry, wait };
  if (wait !== undefined) return { wait };
  // A programming error, caught by the failure table's unit test: every Qualys kind needs an entry.
  throw new Error(`The failure table has no entry for the Qualys error kind "${qualysKind}".`);
}

/** The details a rate-limit wait failure carries to the workflow. */
export interface RateLimitWait {
  waitSeconds: number;
  endpoint?: string;
}

function failureTypesWhere(test: (kind: FailureKind) => boolean): FailureType[] {
  return (Object.keys(FAILURE_TABLE) as FailureType[]).filter((type) => test(FAILURE_TABLE[type]));
}
