import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The repository's root directory. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `deploy/prometheus` and `deploy/grafana`. */
export const PROMETHEUS_DIR = path.join(ROOT, 'deploy', 'prometheus');
export const GRAFANA_DIR = path.join(ROOT, 'deploy', 'grafana');

/** One rule of a Prometheus rule file: an alert or a recording rule. */
export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A Prometheus rule file. */
export interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}

/** Reads and parses a YAML file (relative paths from the repository root). */
export async function readYaml<T>(file: string): Promise<T> {
  return parse(await readFile(path.resolve(ROOT, file), 'utf8')) as T;
}

/** The files of `dir` whose names end with `suffix`, as absolute paths, sorted. */
export async function filesIn(dir: string, suffix: string): Promise<string[]> {
  const names = await readdir(dir);
  return names
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => path.join(dir, name));
}

/** Every rule of `deploy/prometheus/rules/*.yml`, with the file it comes from. */
export async function readRules(): Promise<(Rule & { file: string })[]> {
  const rules: (Rule & { file: string })[] = [];
  for (const file of await filesIn(path.join(PROMETHEUS_DIR, 'rules'), '.yml')) {
    const content = await readYaml<RuleFile>(file);
    for (const group of content.groups) {
      for (const rule of group.rules) rules.push({ ...rule, file });
    }
  }
  return rules;
}

/** A metric named in a PromQL expression, with the label names its selector matches on. */
export interface SelectorUse {
  metric: string;
  labels: string[];
}

/** What a PromQL expression refers to: metrics (with their matchers) and grouping labels. */
export interface ExprUse {
  selectors: SelectorUse[];
  /** Labels named in `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`. */
  groupingLabels: string[];
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metrics and labels a PromQL expression uses, by a small tokenizer that is enough for the
 * expressions of our rules and dashboards: string literals, range and subquery brackets
 * (`[5m]`, `[$__rate_interval]`) and numbers are skipped; an identifier followed by `(` is a
 * function; any other identifier that is not a keyword is a metric (or a recording rule).
 */
export function exprUses(expr: string): ExprUse {
  const selectors: SelectorUse[] = [];
  const groupingLabels: string[] = [];
  // Label names of a matcher list, e.g. `outcome="failed",route=~"/a|/b"`.
  const matcherLabels = (list: string): string[] =>
    [...list.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g)].map(
      (m) => m[1] ?? '',
    );
  let rest = expr.replace(/\[[^\]]*\]/g, ' ');
  rest = rest.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_match, _keyword: string, list: string) => {
      groupingLabels.push(
        ...list
          .split(',')
          .map((l) => l.trim())
          .filter((l) => l !== ''),
      );
      return ' ';
    },
  );
  const token = /"(?:[^"\\]|\\.)*"|\{[^}]*\}|\d[\w.]*|[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  let last: SelectorUse | null = null;
  for (const match of rest.matchAll(token)) {
    const text = match[0];
    if (text.startsWith('{')) {
      const labels = matcherLabels(text);
      if (last !== null && last.labels.length === 0) last.labels = labels;
      else throw new Error(`a selector without a metric name in ${expr}: ${text}`);
      last = null;
      continue;
    }
    last = null;
    if (text.startsWith('"') || /^\d/.test(text) || KEYWORDS.has(text.toLowerCase())) continue;
    const after = rest.slice((match.index ?? 0) + text.length);
    if (/^\s*\(/.test(after)) continue; // a function
    last = { metric: text, labels: [] };
    selectors.push(last);
  }
  return { selectors, groupingLabels };
}

/** One family of a Prometheus text exposition: its name, type and the series names it has. */
export interface MetricFamily {
  name: string;
  type: string;
  /** The family name, or for a histogram its `_bucket`, `_sum` and `_count` series. */
  series: string[];
}

/** The families a `/metrics` page declares (its `# TYPE` lines). */
export function metricFamilies(text: string): MetricFamily[] {
  const families: MetricFamily[] = [];
  for (const match of text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) {
    const name = match[1] ?? '';
    const type = match[2] ?? '';
    const series =
      type === 'histogram'
        ? [`${name}_bucket`, `${name}_sum`, `${name}_count`]
        : type === 'summary'
          ? [name, `${name}_sum`, `${name}_count`]
          : [name];
    families.push({ name, type, series });
  }
  return families;
}
