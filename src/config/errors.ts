/** A setting is missing or wrong. The message names the setting and what to do; it never holds a secret. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
