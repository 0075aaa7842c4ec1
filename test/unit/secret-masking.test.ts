import { inspect } from 'node:util';
import { createLogger } from '../../src/worker/loggers';
import { MASK, SecretMasker, basicToken, credentialSecrets, proxySecrets, redactUrl, urlSecrets } from '../../src/config/secrets';

const PASSWORD = 'sim-Passw0rd+2025';
const masker = new SecretMasker(credentialSecrets('demo_api_user', PASSWORD));

describe('one masking for every spelling of a secret', () => {
  it.each([
    ['raw', PASSWORD],
    ['percent-encoded', encodeURIComponent(PASSWORD)],
    ['percent-encoded, lower-case hex', 'sim-Passw0rd%2b2025'],
    ['every character percent-encoded', [...Buffer.from(PASSWORD)].map((b) => `%${b.toString(16)}`).join('')],
    ['form-encoded', new URLSearchParams({ p: PASSWORD }).toString().slice(2)],
    ['an HTML numeric reference', 'sim-Passw0rd&#43;2025'],
    ['an HTML hex reference', 'sim-Passw0rd&#x2B;2025'],
    ['an HTML named reference', 'sim-Passw0rd&plus;2025'],
    ['every character a reference', [...PASSWORD].map((c) => `&#${c.charCodeAt(0)};`).join('')],
    ['JSON-escaped', JSON.stringify(PASSWORD).slice(1, -1).replace('+', '\\u002b')],
    ['base64', Buffer.from(PASSWORD).toString('base64')],
    ['base64url', Buffer.from(PASSWORD).toString('base64url')],
    ['the Basic token', basicToken('demo_api_user', PASSWORD)],
    ['the Basic token, percent-encoded', encodeURIComponent(basicToken('demo_api_user', PASSWORD))],
  ])('%s', (_how, spelling) => {
    const text = `<html><body>echo: password=x&amp;y ${spelling} (request)</body></html>`;
    const masked = masker.mask(text);
    expect(masked).toContain(MASK);
    expect(masked).not.toContain(spelling);
    expect(masked).toContain('(request)');
  });

  it('leaves ordinary text alone', () => {
    const text = 'Basic authentication failed for user demo_api_user on https://qualysapi.qualys.com/api/2.0/fo/asset/host/';
    expect(masker.mask(text)).toBe(text);
    expect(new SecretMasker(['abc']).mask('abc')).toBe('abc'); // too short to be a secret
  });

  it('masks credentials of any URL, a password= parameter and Basic / Bearer tokens, known or not', () => {
    const none = new SecretMasker();
    expect(none.mask('API URL https://apiuser:UrlSecret99@qualysapi.qualys.com/')).toBe('API URL https://apiuser:***@qualysapi.qualys.com/');
    expect(none.mask('postgres://connector@db:5432/x?sslmode=require&password=Q%2Bx9&application_name=a')).toBe(
      'postgres://connector@db:5432/x?sslmode=require&password=***&application_name=a',
    );
    expect(none.mask('Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==')).toBe('Proxy-Authorization: Basic ***');
    expect(none.mask('Authorization: Bearer eyJhbGciOi.J9x')).toBe('Authorization: Bearer ***');
    expect(redactUrl(new URL('http://u:p%40ss@proxy:3128'))).toBe('http://u:***@proxy:3128/');
  });

  it('finds the secrets of a URL: user-info, ?password= and ?sslpassword=, and of proxy settings', () => {
    expect(urlSecrets('postgres://connector@h/db?password=Db%2BSecret1')).toEqual(['Db+Secret1']);
    expect(urlSecrets('postgres://u:Db%2BSecret1@h/db?sslpassword=KeyPass1')).toEqual([...credentialSecrets('u', 'Db+Secret1'), 'KeyPass1']);
    expect(urlSecrets('not a url')).toEqual([]);
    expect(proxySecrets({ HTTPS_PROXY: 'http://proxyuser:Proxy%23Pass@proxy:3128' })).toEqual(credentialSecrets('proxyuser', 'Proxy#Pass'));
  });

  it('an inspected masker shows no secret', () => {
    expect(inspect(masker, { showHidden: true, depth: 5 })).not.toContain(PASSWORD);
    expect(JSON.stringify(masker)).not.toContain(PASSWORD);
  });

  it('with() adds secrets to those it had', () => {
    const both = masker.with(['Other-Secret-1']);
    expect(both.mask(`${PASSWORD} Other-Secret-1`)).toBe('*** ***');
  });
});

describe('the worker\'s loggers mask in both formats', () => {
  it.each(['json', 'text'] as const)('%s', (format) => {
    const lines: string[] = [];
    const logger = createLogger(format, 'INFO', masker, (line) => lines.push(line));
    const error = new Error(`HTTP 500: echo ${encodeURIComponent(PASSWORD)}`);
    logger.warn(`Activity failed, echo ${PASSWORD}`, { error, store: 'postgres://c@h/db?password=Db-Secret-1', header: `Basic ${basicToken('u', 'p4ssw0rd')}` });
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line).toContain('Activity failed, echo ***');
    expect(line).toContain('HTTP 500: echo ***');
    expect(line).toContain('password=***');
    for (const leaked of [PASSWORD, encodeURIComponent(PASSWORD), 'Db-Secret-1', basicToken('u', 'p4ssw0rd')]) expect(line).not.toContain(leaked);
    if (format === 'json') expect(JSON.parse(line)).toMatchObject({ level: 'warn' });
    else expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[WARN\] Activity failed/);
  });
});
