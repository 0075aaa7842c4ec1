import { QualysConfigError, QualysError, isQualysError, qualysErrorKinds } from '../../src/qualys/errors';
import { networkError } from '../../src/qualys/network-error';

describe('QualysError', () => {
  it('has a default retryability per kind', () => {
    const retryable = Object.fromEntries(
      qualysErrorKinds.map((kind) => [kind, new QualysError({ kind, message: kind }).retryable]),
    );
    expect(retryable).toEqual({
      authentication: false,
      account: false,
      permission: false,
      'concurrency-limit': true,
      'rate-limit': true,
      'bad-request': false,
      server: true,
      network: true,
      'malformed-response': true,
      config: false,
    });
  });

  it('serialises to plain data that round-trips through JSON, without the cause', () => {
    const error = new QualysError({
      kind: 'rate-limit',
      message: 'Qualys rate limit reached on Host List.',
      fix: 'Wait 60 s.',
      endpoint: 'hostList',
      httpStatus: 409,
      qualysCode: '1965',
      qualysText: 'This API cannot be run again for another 1 minute.',
      waitSeconds: 60,
      cause: new Error('low-level detail'),
    });
    const json: unknown = JSON.parse(JSON.stringify(error));
    expect(json).toEqual({
      kind: 'rate-limit',
      retryable: true,
      message: 'Qualys rate limit reached on Host List.',
      fix: 'Wait 60 s.',
      endpoint: 'hostList',
      httpStatus: 409,
      qualysCode: '1965',
      qualysText: 'This API cannot be run again for another 1 minute.',
      waitSeconds: 60,
    });
    expect(error.details()).toEqual(json);
    expect(new QualysError({ ...error.details(), message: error.message }).details()).toEqual(json);
  });

  it('lets a specific error override the kind default', () => {
    expect(new QualysError({ kind: 'network', message: 'bad certificate', retryable: false }).retryable).toBe(false);
  });

  it('is recognised by the type guard, config errors included', () => {
    const config = new QualysConfigError('bad URL', 'fix it');
    expect(isQualysError(config)).toBe(true);
    expect(config).toMatchObject({ kind: 'config', retryable: false, name: 'QualysConfigError', fix: 'fix it' });
    expect(isQualysError(new Error('x'))).toBe(false);
    expect(isQualysError({ kind: 'network', retryable: true })).toBe(false);
  });
});

describe('networkError', () => {
  const context = {
    endpoint: 'hostDetection' as const,
    host: 'qualysapi.qg2.apps.qualys.com',
    knownPlatformHost: true,
    connectTimeoutMs: 10_000,
    headersTimeoutMs: 300_000,
    bodyTimeoutMs: 300_000,
  };
  const withCode = (code: string, message = 'boom'): Error => Object.assign(new Error(message), { code });

  it.each([
    ['ECONNRESET', true],
    ['ECONNREFUSED', true],
    ['ETIMEDOUT', true],
    ['EAI_AGAIN', true],
    ['UND_ERR_SOCKET', true],
    ['UND_ERR_CONNECT_TIMEOUT', true],
    ['UND_ERR_HEADERS_TIMEOUT', true],
    ['UND_ERR_BODY_TIMEOUT', true],
    ['CERT_HAS_EXPIRED', false],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', false],
    ['ERR_TLS_CERT_ALTNAME_INVALID', false],
    ['ERR_SSL_WRONG_VERSION_NUMBER', false],
    ['UND_ERR_DESTROYED', false],
  ])('%s → retryable %s', (code, retryable) => {
    const e = networkError(withCode(code), context);
    expect({ kind: e.kind, retryable: e.retryable, networkCode: e.networkCode }).toEqual({ kind: 'network', retryable, networkCode: code });
  });

  it('ENOTFOUND is retryable for a known Qualys host (resolver trouble), not for any other host (a typo)', () => {
    expect(networkError(withCode('ENOTFOUND'), context).retryable).toBe(true);
    const typo = networkError(withCode('ENOTFOUND'), { ...context, host: 'qualysapi.qg2.apps.qualys.cmo', knownPlatformHost: false });
    expect(typo.retryable).toBe(false);
    expect(typo.message).toContain('does not exist');
  });

  it('finds the code on a cause or inside an AggregateError (happy eyeballs)', () => {
    const wrapped = new Error('fetch failed', { cause: new AggregateError([withCode('ECONNREFUSED')], 'all failed') });
    expect(networkError(wrapped, context).networkCode).toBe('ECONNREFUSED');
  });

  it('recognises a proxy refusing the tunnel', () => {
    const e = networkError(withCode('UND_ERR_ABORTED', 'Proxy response (407) !== 200 when HTTP Tunneling'), context);
    expect(e.retryable).toBe(false);
    expect(e.fix).toContain('proxy');
    expect(networkError(withCode('UND_ERR_ABORTED', 'Proxy response (502) !== 200 when HTTP Tunneling'), context).retryable).toBe(true);
  });
});
