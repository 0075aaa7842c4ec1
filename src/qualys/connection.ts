import { z } from 'zod';
import { defaultTimeouts, type HttpTimeouts } from './dispatcher';
import { QualysConfigError } from './errors';

const timeoutMs = z.number().int().positive().max(3_600_000);

/** How to reach one Qualys subscription. The password is only ever held by the HTTP layer. */
export const qualysConnectionSchema = z.object({
  /** API host or URL: `qualysapi.qg2.apps.qualys.com`, `https://…`, a POD name (`US2`), or a private platform URL. */
  apiUrl: z.string().trim().min(1),
  username: z.string().min(1),
  password: z.string().min(1),
  /** Extra CA certificates (PEM file), added to Node's default roots. */
  caFile: z.string().min(1).optional(),
  /** Proxy URL; when unset, HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment apply. */
  proxyUrl: z.string().min(1).optional(),
  /** Allow http:// to a non-loopback host (e.g. a simulator in another container). */
  allowPlainHttp: z.boolean().optional(),
  timeouts: z
    .object({ connectMs: timeoutMs.optional(), headersMs: timeoutMs.optional(), bodyMs: timeoutMs.optional() })
    .optional(),
});
export type QualysConnection = z.infer<typeof qualysConnectionSchema>;

/** Validates connection settings; the error names the fields at fault, never their values. */
export function parseQualysConnection(input: unknown): QualysConnection {
  const result = qualysConnectionSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((issue) => `${issue.path.map(String).join('.') || '(connection)'}: ${issue.message}`)
    .join('; ');
  throw new QualysConfigError(
    `Invalid Qualys connection settings: ${problems}.`,
    'Provide apiUrl, username and password (and optionally caFile, proxyUrl, timeouts in milliseconds).',
  );
}

export function resolveTimeouts(timeouts: QualysConnection['timeouts']): HttpTimeouts {
  return {
    connectMs: timeouts?.connectMs ?? defaultTimeouts.connectMs,
    headersMs: timeouts?.headersMs ?? defaultTimeouts.headersMs,
    bodyMs: timeouts?.bodyMs ?? defaultTimeouts.bodyMs,
  };
}
