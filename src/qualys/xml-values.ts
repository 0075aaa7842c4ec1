import { z } from 'zod';

/**
 * zod building blocks for documents parsed by `xml.ts`. There every leaf is a trimmed string, an
 * empty element is '', and an element with attributes is `{ '#text': …, '@name': … }`. These turn
 * that into typed values, treat empty as absent, and reject anything else with a clear message.
 */

export type Ctx = z.core.$RefinementCtx<unknown>;

function fail(ctx: Ctx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

/** The text of a leaf element (attributes ignored); undefined when empty. */
function leafText(value: unknown, ctx: Ctx): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (value === undefined) return undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.every(([key]) => key === '#text' || key.startsWith('@'))) {
      const text = (value as Record<string, unknown>)['#text'];
      if (text === undefined) return undefined;
      if (typeof text === 'string') return text === '' ? undefined : text;
    }
    return fail(ctx, 'expected a text value, found an element with child elements');
  }
  if (Array.isArray(value)) return fail(ctx, 'expected one value, found a repeated element');
  return fail(ctx, 'expected a text value');
}

/** Optional text. */
export const text = z.unknown().transform(leafText).optional();

/** Text that must be present and non-empty. */
export const requiredText = z
  .unknown()
  .transform((value, ctx): string => leafText(value, ctx) ?? fail(ctx, 'is missing or empty'));

const DIGITS = /^\d+$/;

/** A Qualys numeric identifier kept as a string (host ID, QID, asset ID). */
export const requiredId = z.unknown().transform((value, ctx): string => {
  const id = leafText(value, ctx) ?? fail(ctx, 'is missing or empty');
  return DIGITS.test(id) ? id : fail(ctx, `expected a numeric ID, got "${clip(id)}"`);
});

export const optionalId = z
  .unknown()
  .transform((value, ctx): string | undefined => {
    const id = leafText(value, ctx);
    if (id === undefined) return undefined;
    return DIGITS.test(id) ? id : fail(ctx, `expected a numeric ID, got "${clip(id)}"`);
  })
  .optional();

export interface NumberRange {
  min?: number;
  max?: number;
}

/** Reads a whole number from a leaf element (undefined when empty), range-checked. */
export function readInteger(value: unknown, ctx: Ctx, range: NumberRange = {}): number | undefined {
  const raw = leafText(value, ctx);
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) return fail(ctx, `expected a whole number, got "${clip(raw)}"`);
  const n = Number(raw);
  if ((range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
    return fail(ctx, `expected a number from ${range.min ?? '-∞'} to ${range.max ?? '∞'}, got ${n}`);
  }
  return n;
}

/** An optional whole number, optionally range-checked. */
export function integer(range: NumberRange = {}) {
  return z
    .unknown()
    .transform((value, ctx) => readInteger(value, ctx, range))
    .optional();
}

/** The value of one attribute of an element (e.g. severity of <QDS severity="HIGH">75</QDS>). */
export function readAttribute(value: unknown, name: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const attr = (value as Record<string, unknown>)[`@${name}`];
  return typeof attr === 'string' && attr.trim() !== '' ? attr.trim() : undefined;
}

/**
 * An optional decimal that Qualys only fills in when it has one (CVSS scores appear only when CVSS
 * scoring is enabled, and unscored QIDs may carry placeholders): anything non-numeric reads as absent.
 */
export const lenientDecimal = z
  .unknown()
  .transform((value, ctx): number | undefined => {
    const raw = leafText(value, ctx);
    if (raw === undefined || !/^-?\d+(\.\d+)?$/.test(raw)) return undefined;
    return Number(raw);
  })
  .optional();

/** Qualys booleans are 0/1. */
export const flag = z
  .unknown()
  .transform((value, ctx): boolean | undefined => {
    const raw = leafText(value, ctx);
    if (raw === undefined) return undefined;
    if (raw === '1') return true;
    if (raw === '0') return false;
    return fail(ctx, `expected 0 or 1, got "${clip(raw)}"`);
  })
  .optional();

/** An optional element with children; `<X/>` or `<X></X>` reads as absent. */
export function node<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.preprocess((value) => (value === '' ? undefined : value), z.object(shape).optional());
}

/** A repeated element (parsed as an array by `xml.ts`); absent reads as empty. */
export function list<Item extends z.ZodType>(item: Item) {
  return z.preprocess((value) => (value === undefined || value === '' ? [] : value), z.array(item));
}

function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
