/**
 * One masking for every secret the connector holds — Qualys passwords, the database password, proxy
 * credentials, the Basic tokens built from them, Temporal API keys — in every spelling a message can
 * carry it: raw, percent-encoded (upper or lower case hex, `+` for a space), as HTML / XML character
 * references or entities, JSON-escaped, any mix of those, and base64. Log writers, failure messages,
 * the run report and the doctor all go through it. The connector never writes a secret on purpose:
 * this is the last guard, for text that quotes what a server sent back.
 */

export const MASK = '***';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

// Shorter "secrets" would mask ordinary words and numbers all over a message.
const MIN_SECRET_LENGTH = 4;

// Named references a server may use for the punctuation in a password (HTML5 names for ASCII).
const NAMED_REFERENCES: Readonly<Record<string, readonly string[]>> = {
  '&': ['amp'],
  '<': ['lt'],
  '>': ['gt'],
  '"': ['quot'],
  "'": ['apos'],
  '+': ['plus'],
  '=': ['equals'],
  '/': ['sol'],
  ':': ['colon'],
  '#': ['num'],
  '%': ['percnt'],
  '!': ['excl'],
  '?': ['quest'],
  '@': ['commat'],
  $: ['dollar'],
  '(': ['lpar'],
  ')': ['rpar'],
  '*': ['ast'],
  ',': ['comma'],
  '.': ['period'],
  ';': ['semi'],
  _: ['lowbar'],
  '[': ['lsqb', 'lbrack'],
  ']': ['rsqb', 'rbrack'],
  '{': ['lcub', 'lbrace'],
  '}': ['rcub', 'rbrace'],
  '|': ['verbar', 'vert'],
  '\\': ['bsol'],
  '^': ['Hat'],
  '`': ['grave'],
};

// Patterns that are credentials whoever's they are: a Basic or Bearer token, a URL's user-info
// password, a `password=` parameter (libpq's query string, a form echoed back).
const GENERIC: ReadonlyArray<[RegExp, string]> = [
  // (a token has a digit or +/=: "Basic authentication" is a phrase, not a token)
  [/\b(Basic|Bearer)(\s+)(?=[A-Za-z0-9+/_.~-]*[0-9+/=])[A-Za-z0-9+/_.~-]{8,}=*/g, `$1$2${MASK}`],
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:'"<>]*):[^\s/?#@'"<>]+@/gi, `$1:${MASK}@`],
  [/([?&;\s"']|^)((?:ssl)?password|passwd|pwd)=[^&\s"'<>]*/gi, `$1$2=${MASK}`],
];

/** Escapes text for use inside a regular expression. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** A hex number matching either case: `2b` → `2[bB]`. */
function hexAnyCase(value: number, width: number): string {
  return value
    .toString(16)
    .padStart(width, '0')
    .split('')
    .map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d))
    .join('');
}

/** Every way one character of a secret may be written in text we produce or quote. */
function spellingsOfCharacter(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  const forms = [literal(character)];
  forms.push([...Buffer.from(character, 'utf8')].map((byte) => `%${hexAnyCase(byte, 2)}`).join(''));
  if (character === ' ') forms.push('\\+');
  forms.push(`&#0*${code};?`, `&#[xX]0*${hexAnyCase(code, 1)};?`);
  for (const name of NAMED_REFERENCES[character] ?? []) forms.push(`&${name};`);
  if (code <= 0xffff) forms.push(`\\\\u${hexAnyCase(code, 4)}`);
  if (character === '"' || character === '\\' || character === '/') forms.push(`\\\\${literal(character)}`);
  return `(?:${forms.join('|')})`;
}

/** A pattern matching the secret in any (even mixed) spelling of its characters. */
function patternOf(secret: string): RegExp {
  return new RegExp(Array.from(secret, spellingsOfCharacter).join(''), 'g');
}

/** The `Authorization: Basic` token for a user and password. */
export function basicToken(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

/** What to mask for a user and password: the password (and its base64), and the Basic token of the pair. */
export function credentialSecrets(username: string, password: string): string[] {
  if (!password) return [];
  const base64 = (text: string): string[] => {
    const encoded = Buffer.from(text, 'utf8').toString('base64');
    // Padding is dropped in some places, and base64url is base64 with two other characters.
    return [encoded, encoded.replace(/=+$/, ''), Buffer.from(text, 'utf8').toString('base64url')];
  };
  return [password, ...base64(password), ...base64(`${username}:${password}`)];
}

/**
 * The secrets a URL carries: its user-info password (with the Basic token of user and password), and
 * a `password` or `sslpassword` in its query string (libpq and pg accept both in DATABASE_URL).
 */
export function urlSecrets(text: string | undefined): string[] {
  // People write host names without a scheme (`user:pass@host`); read those as https URLs.
  const withScheme = text && !SCHEME.test(text) ? `https://${text}` : text;
  if (!withScheme || !URL.canParse(withScheme)) return [];
  const url = new URL(withScheme);
  const decode = (value: string): string => {
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  };
  const secrets = url.password ? credentialSecrets(decode(url.username), decode(url.password)) : [];
  for (const name of ['password', 'sslpassword']) {
    for (const value of url.searchParams.getAll(name)) if (value) secrets.push(value);
  }
  return secrets;
}

/** The proxy credentials of the environment's proxy settings (undici reads these variables too). */
export function proxySecrets(env: NodeJS.ProcessEnv): string[] {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].flatMap((name) => urlSecrets(env[name]));
}

/** A URL as typed (with or without a scheme) with everything before an `@` in its authority masked. */
export function redactUserInfo(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/]*@/i, `$1${MASK}@`);
}

/**
 * The secrets a process's environment holds in the variables the project reads, for the last line of a
 * command that failed before it knew more (a connections file's own variables are in its profiles).
 */
export function environmentSecrets(env: NodeJS.ProcessEnv): string[] {
  return [
    env.QUALYS_PASSWORD,
    env.PGPASSWORD,
    env.TEMPORAL_API_KEY,
    ...urlSecrets(env.QUALYS_API_URL),
    ...urlSecrets(env.DATABASE_URL),
    ...proxySecrets(env),
  ].filter((s): s is string => Boolean(s));
}

/**
 * A URL as people may see it: the user-info password and any `password=` query parameter masked.
 * Works on text that does not parse as a URL as well.
 */
export function redactUrl(url: string | URL): string {
  const text = url.toString();
  const withoutUserInfo = SCHEME.test(text) ? text : text.replace(/^([^\s/?#@:]*):[^\s/?#@]*@/, `$1:${MASK}@`);
  return new SecretMasker().mask(withoutUserInfo);
}

// Longest first, so a secret that contains another is masked whole.
function longestFirst(a: { length: number }, b: { length: number }): number {
  return b.length - a.length;
}

export class SecretMasker {
  // Only patterns are kept, never the secrets themselves (an inspected masker shows none).
  #patterns: ReadonlyArray<{ length: number; pattern: RegExp }>;

  constructor(secrets: Iterable<string | undefined> = []) {
    const distinct = new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH));
    this.#patterns = [...distinct].map((secret) => ({ length: secret.length, pattern: patternOf(secret) })).sort(longestFirst);
  }

  /** A masker for these secrets and this one's. */
  with(secrets: Iterable<string | undefined>): SecretMasker {
    const next = new SecretMasker(secrets);
    next.#patterns = [...next.#patterns, ...this.#patterns].sort(longestFirst);
    return next;
  }

  mask(text: string): string {
    let masked = text;
    for (const { pattern } of this.#patterns) masked = masked.replace(pattern, MASK);
    for (const [pattern, replacement] of GENERIC) masked = masked.replace(pattern, replacement);
    return masked;
  }

  maskOptional(text: string | undefined): string | undefined {
    return text === undefined ? undefined : this.mask(text);
  }

  /** Whether `text` holds anything the masker would change. */
  leaks(text: string | undefined): boolean {
    return text !== undefined && this.mask(text) !== text;
  }
}
