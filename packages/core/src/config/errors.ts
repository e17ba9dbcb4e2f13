// Config errors name the key path, the value found and what was expected, so an operator
// can fix the file without reading the schema.
import type { z } from 'zod';

export interface ConfigProblem {
  path: string;
  value: unknown;
  expected: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  readonly source: string;

  constructor(source: string, problems: ConfigProblem[]) {
    super(
      `invalid configuration in ${source}:\n` +
        problems.map((p) => `  ${p.path}: ${describeValue(p.value)}: ${p.expected}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.source = source;
    this.problems = problems;
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(top level)' : out;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

function expectedText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} (check the spelling; see docs/config.md)`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `expected at least ${String(issue.minimum)} item(s)`
        : issue.origin === 'string'
          ? `expected at least ${String(issue.minimum)} character(s)`
          : `expected ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array'
        ? `expected at most ${String(issue.maximum)} item(s)`
        : issue.origin === 'string'
          ? `expected at most ${String(issue.maximum)} character(s)`
          : `expected ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    case 'invalid_union': {
      const options = 'options' in issue && Array.isArray(issue.options) ? (issue.options as unknown[]) : [];
      if ('discriminator' in issue && issue.discriminator) {
        return options.length
          ? `expected ${String(issue.discriminator)} to be one of ${options.map((o) => JSON.stringify(o)).join(', ')}`
          : `unknown ${String(issue.discriminator)}`;
      }
      return 'matches none of the allowed forms';
    }
    default:
      return issue.message;
  }
}

/** Turn zod issues into problems that carry the value found in the raw input. */
export function problemsFromZod(issues: ReadonlyArray<z.core.$ZodIssue>, raw: unknown): ConfigProblem[] {
  return issues.map((issue) => {
    const path = formatPath(issue.path);
    // A union reports its whole object as input; the value at the path is what the operator wrote.
    const fromInput = issue.code !== 'invalid_union' && 'input' in issue && issue.input !== undefined;
    const value = fromInput ? issue.input : valueAt(raw, issue.path);
    let expected = expectedText(issue);
    // Messages written in the schema start in lower case ("expected an ldap:// URL") and are
    // more precise than the generic text; zod's own start with a capital.
    if (/^[a-z]/.test(issue.message)) expected = issue.message;
    if (issue.code === 'invalid_type' && value === undefined) expected = `required: ${expected}`;
    return { path, value, expected };
  });
}
