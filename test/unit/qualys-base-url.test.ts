import { QualysConfigError, isQualysError } from '../../src/qualys/errors';
import { isLoopbackHost, qualysPlatforms, resolveApiBaseUrl } from '../../src/qualys/base-url';

function configError(run: () => unknown): QualysConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(QualysConfigError);
    const e = error as QualysConfigError;
    expect(isQualysError(e)).toBe(true);
    expect(e.kind).toBe('config');
    expect(e.retryable).toBe(false);
    return e;
  }
  throw new Error('expected a QualysConfigError');
}

describe('resolveApiBaseUrl', () => {
  it.each([
    ['qualysapi.qg2.apps.qualys.com', 'https://qualysapi.qg2.apps.qualys.com', 'US2'],
    ['https://qualysapi.qg2.apps.qualys.com', 'https://qualysapi.qg2.apps.qualys.com', 'US2'],
    ['  https://QualysAPI.qg2.apps.qualys.com///  ', 'https://qualysapi.qg2.apps.qualys.com', 'US2'],
    ['qualysapi.qualys.com/', 'https://qualysapi.qualys.com', 'US1'],
    ['qualysapi.qg1.apps.qualys.co.uk', 'https://qualysapi.qg1.apps.qualys.co.uk', 'UK1'],
    ['qualysapi.qg3.apps.qualys.it', 'https://qualysapi.qg3.apps.qualys.it', 'EU3'],
    ['qualysapi.qg1.apps.qualysksa.com', 'https://qualysapi.qg1.apps.qualysksa.com', 'KSA1'],
    ['us4', 'https://qualysapi.qg4.apps.qualys.com', 'US4'],
  ])('accepts %s', (input, baseUrl, pod) => {
    expect(resolveApiBaseUrl(input)).toEqual({ baseUrl, pod });
  });

  it('resolves every POD in the table from its API host, bare or as a URL', () => {
    expect(qualysPlatforms).toHaveLength(13);
    for (const platform of qualysPlatforms) {
      expect(resolveApiBaseUrl(platform.apiHost)).toEqual({ baseUrl: `https://${platform.apiHost}`, pod: platform.pod });
      expect(resolveApiBaseUrl(`https://${platform.apiHost}/`).pod).toBe(platform.pod);
    }
  });

  it('keeps custom (private platform) URLs, path included, without a POD', () => {
    expect(resolveApiBaseUrl('https://qualys.internal.example.net:8443/qualys/')).toEqual({
      baseUrl: 'https://qualys.internal.example.net:8443/qualys',
    });
    expect(resolveApiBaseUrl('qualysapi.private.example.org')).toEqual({ baseUrl: 'https://qualysapi.private.example.org' });
  });

  it('accepts plain http only for loopback unless allowed', () => {
    expect(resolveApiBaseUrl('http://127.0.0.1:43123')).toEqual({ baseUrl: 'http://127.0.0.1:43123' });
    expect(resolveApiBaseUrl('http://localhost:8080/')).toEqual({ baseUrl: 'http://localhost:8080' });
    expect(resolveApiBaseUrl('http://[::1]:9000')).toEqual({ baseUrl: 'http://[::1]:9000' });
    const e = configError(() => resolveApiBaseUrl('http://simulator.internal:8080'));
    expect(e.message).toContain('unencrypted');
    expect(resolveApiBaseUrl('http://simulator.internal:8080', { allowPlainHttp: true })).toEqual({
      baseUrl: 'http://simulator.internal:8080',
    });
  });

  it('refuses the web UI host and names the API host to use', () => {
    const e = configError(() => resolveApiBaseUrl('qualysguard.qg2.apps.qualys.com'));
    expect(e.message).toBe(
      'qualysguard.qg2.apps.qualys.com is the Qualys web UI; the API host for that platform (US2) is qualysapi.qg2.apps.qualys.com.',
    );
    expect(e.fix).toContain('https://qualysapi.qg2.apps.qualys.com');

    expect(configError(() => resolveApiBaseUrl('https://qualysguard.qualys.com/fo/login.php')).message).toContain(
      'qualysapi.qualys.com',
    );
    expect(configError(() => resolveApiBaseUrl('qualysguard.qg1.apps.qualys.co.uk')).message).toContain(
      'qualysapi.qg1.apps.qualys.co.uk',
    );
    // Not in the table: the usual rename is suggested.
    expect(configError(() => resolveApiBaseUrl('qualysguard.qg9.apps.qualys.example')).message).toContain(
      'qualysapi.qg9.apps.qualys.example',
    );
  });

  it('refuses gateway hosts with a pointer to the classic API host', () => {
    const e = configError(() => resolveApiBaseUrl('https://gateway.qg1.apps.qualys.com'));
    expect(e.message).toContain('gateway');
    expect(e.message).toContain('qualysapi.qualys.com'); // US1's API host is not qualysapi.qg1…
    expect(configError(() => resolveApiBaseUrl('gateway.qg3.apps.qualys.com')).message).toContain(
      'qualysapi.qg3.apps.qualys.com',
    );
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['not a url at all', 'not a valid URL'],
    ['hello', 'does not look like a Qualys API host'],
    ['ftp://qualysapi.qualys.com', 'https://'],
    ['https://qualysapi.qualys.com/api/2.0/fo/asset/host/', 'includes the path'],
    ['https://qualysapi.qualys.com/?action=list', 'query string'],
  ])('rejects %j with a clear message', (input, expected) => {
    expect(configError(() => resolveApiBaseUrl(input)).message).toContain(expected);
  });

  it('rejects credentials in the URL without repeating them', () => {
    const e = configError(() => resolveApiBaseUrl('https://acme_ab12:S3cr3t-Pa55@qualysapi.qualys.com'));
    expect(e.message).toContain('credentials must not be part of the URL');
    expect(JSON.stringify(e)).not.toContain('S3cr3t-Pa55');
    expect(e.stack).not.toContain('S3cr3t-Pa55');
    const unparseable = configError(() => resolveApiBaseUrl('acme:S3cr3t-Pa55@qualys api'));
    expect(JSON.stringify(unparseable)).not.toContain('S3cr3t-Pa55');
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.10.0.3', true],
    ['localhost', true],
    ['[::1]', true],
    ['10.0.0.1', false],
    ['qualysapi.qualys.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
