import { FAILURE_TABLE, failureTypesOfQualysKind, qualysErrorKinds, type QualysErrorKind } from '../contracts/failure-table';
import { compact } from './compact';
import type { QualysEndpoint } from './endpoints';

/**
 * Every failure the Qualys client reports is a QualysError of one of the failure table's Qualys kinds.
 * Callers (activities) decide what to do from `kind` and `retryable` alone; they never parse messages.
 */
export { qualysErrorKinds, type QualysErrorKind };

/** Whether retrying the same call later can succeed, unless a specific error says otherwise: as the failure table says. */
function retryableByDefault(kind: QualysErrorKind): boolean {
  const { retry, wait } = failureTypesOfQualysKind(kind);
  return wait !== undefined || (retry !== undefined && FAILURE_TABLE[retry].retry === 'retryable');
}

/** Plain, JSON-safe data describing a QualysError (what an activity puts into an ApplicationFailure). */
export interface QualysErrorDetails {
  kind: QualysErrorKind;
  retryable: boolean;
  message: string;
  /** What a person can do about it. */
  fix?: string;
  endpoint?: QualysEndpoint;
  httpStatus?: number;
  /** The `CODE` (API v2) or `responseCode` (QPS) Qualys returned. */
  qualysCode?: string;
  /** The `TEXT` / `errorMessage` Qualys returned, verbatim. */
  qualysText?: string;
  /** Seconds Qualys asked us to wait (rate limit). */
  waitSeconds?: number;
  /** Low-level error code (ECONNRESET, UND_ERR_HEADERS_TIMEOUT, …) for network errors. */
  networkCode?: string;
}

export interface QualysErrorInit extends Omit<QualysErrorDetails, 'retryable'> {
  /** Overrides the kind's default (e.g. a TLS certificate failure is a network error that will not heal). */
  retryable?: boolean;
  cause?: unknown;
}

export class QualysError extends Error {
  override readonly name: string = 'QualysError';
  readonly kind: QualysErrorKind;
  readonly retryable: boolean;
  readonly fix?: string;
  readonly endpoint?: QualysEndpoint;
  readonly httpStatus?: number;
  readonly qualysCode?: string;
  readonly qualysText?: string;
  readonly waitSeconds?: number;
  readonly networkCode?: string;

  constructor(init: QualysErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.retryable = init.retryable ?? retryableByDefault(init.kind);
    this.fix = init.fix;
    this.endpoint = init.endpoint;
    this.httpStatus = init.httpStatus;
    this.qualysCode = init.qualysCode;
    this.qualysText = init.qualysText;
    this.waitSeconds = init.waitSeconds;
    this.networkCode = init.networkCode;
  }

  details(): QualysErrorDetails {
    // Only defined fields, so the JSON stays small and round-trips exactly.
    return compact<QualysErrorDetails>({
      kind: this.kind,
      retryable: this.retryable,
      message: this.message,
      fix: this.fix,
      endpoint: this.endpoint,
      httpStatus: this.httpStatus,
      qualysCode: this.qualysCode,
      qualysText: this.qualysText,
      waitSeconds: this.waitSeconds,
      networkCode: this.networkCode,
    });
  }

  toJSON(): QualysErrorDetails {
    return this.details();
  }
}

/** A mistake in the connection settings (URL, CA file, …): never retryable, always explains the fix. */
export class QualysConfigError extends QualysError {
  override readonly name: string = 'QualysConfigError';

  constructor(message: string, fix?: string) {
    super({ kind: 'config', message, fix });
  }
}

export function isQualysError(value: unknown): value is QualysError {
  return value instanceof QualysError;
}
