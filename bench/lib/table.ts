import type { BenchResult, Spread } from './results.ts';

function fmt(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value === 0 ? '0' : value.toFixed(3);
}

/** ` (min–max)` of the rounds, formatted like the value; empty without rounds. */
function spreadText(spread: Spread | null): string {
  return spread === null ? '' : ` (${fmt(spread.min)}–${fmt(spread.max)})`;
}

function verdict(r: BenchResult): string {
  switch (r.verdict) {
    case 'met':
      return 'yes';
    case 'missed':
      return 'NO';
    case 'inconclusive':
      return 'inconclusive';
    case null:
      return '';
  }
}

function targetText(r: BenchResult): string {
  const parts: string[] = [];
  if (r.target !== null) parts.push(`${r.better === 'higher' ? '≥' : '≤'} ${r.target}×`);
  if (r.goal !== null) parts.push(r.goal);
  return parts.join('; ');
}

/** The results as a Markdown table (what the bench prints and the README pastes). */
export function renderTable(results: readonly BenchResult[]): string {
  const header = ['figure', 'value', 'baseline', 'baseline value', 'ratio', 'target', 'met'];
  const rows = results.map((r) => [
    r.name,
    `${fmt(r.value)} ${r.unit}${spreadText(r.spread)}`,
    r.baseline,
    r.baselineValue === null ? '—' : `${fmt(r.baselineValue)} ${r.unit}`,
    r.ratio === null ? '—' : `${fmt(r.ratio)}×${spreadText(r.ratioSpread)}`,
    targetText(r),
    verdict(r),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
