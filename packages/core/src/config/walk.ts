// Walks the zod schema by key path. Env overrides and `config set` use it to find the real
// (camelCase) key for a segment and to know whether a leaf wants a string or a parsed value;
// the docs generator uses it to list every key.
import type { z } from 'zod';

type AnySchema = z.core.$ZodType;

interface Def {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  valueType?: AnySchema;
  keyType?: AnySchema;
  element?: AnySchema;
  options?: AnySchema[];
  defaultValue?: unknown;
  entries?: Record<string, string | number>;
  values?: unknown[];
}

export function defOf(schema: AnySchema): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Strip optional/default/prefault/nullable/pipe wrappers. */
export function unwrap(schema: AnySchema): AnySchema {
  let cur = schema;
  for (;;) {
    const def = defOf(cur);
    if (def.innerType && ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch'].includes(def.type)) {
      cur = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      cur = def.in;
    } else {
      return cur;
    }
  }
}

const norm = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '').toLowerCase();

export type Segment = string | number;

/**
 * The child schema for one path segment, and the segment spelled as the schema spells it.
 * `existing` is the raw value at this level, used to match record keys (host names).
 */
export function childOf(
  schema: AnySchema,
  segment: string,
  existing?: unknown,
): { schema: AnySchema; key: Segment } | undefined {
  const s = unwrap(schema);
  const def = defOf(s);
  if (def.type === 'object' && def.shape) {
    const key = Object.keys(def.shape).find((k) => norm(k) === norm(segment));
    return key === undefined ? undefined : { schema: def.shape[key] as AnySchema, key };
  }
  if (def.type === 'record' && def.valueType) {
    const keys = existing && typeof existing === 'object' ? Object.keys(existing) : [];
    const key = keys.find((k) => norm(k) === norm(segment)) ?? segment.toLowerCase();
    return { schema: def.valueType, key };
  }
  if (def.type === 'array' && def.element) {
    if (!/^\d+$/.test(segment)) return undefined;
    return { schema: def.element, key: Number(segment) };
  }
  if (def.type === 'union' && def.options) {
    for (const option of def.options) {
      const found = childOf(option, segment, existing);
      if (found) return found;
    }
  }
  return undefined;
}

/** Resolve a whole dotted or env-style path against the schema; undefined if no such key. */
export function resolvePath(
  schema: AnySchema,
  segments: string[],
  raw: unknown,
): { schema: AnySchema; path: Segment[] } | undefined {
  let cur = schema;
  let value: unknown = raw;
  const path: Segment[] = [];
  for (const seg of segments) {
    const child = childOf(cur, seg, value);
    if (!child) return undefined;
    path.push(child.key);
    cur = child.schema;
    value = value && typeof value === 'object' ? (value as Record<string | number, unknown>)[child.key] : undefined;
  }
  return { schema: cur, path };
}

/** True when the leaf schema wants a string, so "12345" must stay a string, not a number. */
export function wantsString(schema: AnySchema): boolean {
  const def = defOf(unwrap(schema));
  if (def.type === 'string') return true;
  if (def.type === 'enum') return Object.values(def.entries ?? {}).every((v) => typeof v === 'string');
  if (def.type === 'union' && def.options) return def.options.every((o) => wantsString(o));
  return false;
}

/** Split "a.b[0].c" into ["a", "b", "0", "c"]. */
export function splitDotted(key: string): string[] {
  return key
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((s) => s !== '');
}

export function getIn(root: unknown, path: Segment[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

export function setIn(root: Record<string, unknown>, path: Segment[], value: unknown): void {
  let cur: Record<string | number, unknown> = root;
  path.forEach((seg, i) => {
    if (i === path.length - 1) {
      cur[seg] = value;
      return;
    }
    const next = cur[seg];
    if (next === null || typeof next !== 'object') {
      cur[seg] = typeof path[i + 1] === 'number' ? [] : {};
    }
    cur = cur[seg] as Record<string | number, unknown>;
  });
}
