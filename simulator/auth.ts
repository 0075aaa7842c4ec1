/** HTTP Basic authentication against the simulated users. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { SimulatedUser } from './types';

export const DEMO_USERNAME = 'demo_api_user';
/** The fixed password of the default demo user (it is a simulator: nothing to protect). */
export const DEMO_PASSWORD = 'sim-Passw0rd+2025';

/** A user with every permission flag resolved. */
export interface ResolvedUser {
  username: string;
  password: string;
  apiAccess: boolean;
  knowledgeBase: boolean;
  assetView: boolean;
  expired: boolean;
}

export function resolveUsers(users: SimulatedUser[] | undefined): ResolvedUser[] {
  const list = users && users.length > 0 ? users : [{ username: DEMO_USERNAME, password: DEMO_PASSWORD }];
  return list.map((u) => ({
    username: u.username,
    password: u.password,
    apiAccess: u.apiAccess ?? true,
    knowledgeBase: u.knowledgeBase ?? true,
    assetView: u.assetView ?? true,
    expired: u.expired ?? false,
  }));
}

/** Compares digests so the comparison takes the same time whatever the input. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** The user named by a Basic `Authorization` header whose password matches; undefined otherwise. */
export function authenticate(authorization: string | undefined, users: readonly ResolvedUser[]): ResolvedUser | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const user = users.find((u) => u.username === username);
  return user && sameSecret(user.password, password) ? user : undefined;
}
