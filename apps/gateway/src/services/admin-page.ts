import { bytesText, durationText } from '@relocation/runtime';
import type { MinuteStats, MoveDirection, OverviewStats, TierStats } from './stats.ts';

/** HTML that is already safe: markup this module built, with every value in it escaped. */
export class SafeHtml {
  readonly html: string;
  constructor(html: string) {
    this.html = html;
  }
  toString(): string {
    return this.html;
  }
}

/** Escapes text for an HTML element or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.html;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * Markup with its values escaped: every `${value}` is escaped unless it is {@link SafeHtml}
 * (markup built by this function), arrays are joined, `null`, `undefined` and `false` are empty.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Where the page links to. */
export interface AdminPageLinks {
  bullBoard: string;
  docs: string;
  metrics: string;
  stats: string;
  stylesheet: string;
  /** The status of a content: `/v1/contents/<cid>`. */
  content: (cid: number) => string;
}

/** Seconds between the page's reloads (`<meta http-equiv="refresh">`). */
export const ADMIN_PAGE_REFRESH_SECONDS = 30;

/** `HH:MM` of an epoch-ms time, UTC. */
function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** `YYYY-MM-DD HH:MM:SS` of an epoch-ms time, UTC. */
function stamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const BAR = { width: 420, row: 28, label: 90, gap: 6, valueRoom: 90 };

/**
 * A horizontal bar chart of one value per tier, as inline SVG. Each bar carries
 * `data-tier`/`data-value` and a `<title>` with the exact value (what a reader hovers, and what
 * the tests read).
 */
export function tierBarChart(
  tiers: readonly TierStats[],
  options: {
    id: string;
    title: string;
    value: (t: TierStats) => number;
    text: (v: number) => string;
  },
): SafeHtml {
  const max = Math.max(1, ...tiers.map(options.value));
  const span = BAR.width - BAR.label - BAR.valueRoom;
  const height = Math.max(1, tiers.length) * BAR.row + BAR.gap;
  const bars = tiers.map((tier, i) => {
    const value = options.value(tier);
    const y = BAR.gap + i * BAR.row;
    const w = value === 0 ? 0 : Math.max(2, Math.round((value / max) * span));
    return html`<g class="bar" data-tier="${tier.name}" data-value="${value}">
      <title>${tier.name}: ${options.text(value)}</title>
      <text
        class="label"
        x="${BAR.label - 8}"
        y="${y + BAR.row / 2 + 1}"
        text-anchor="end"
        dominant-baseline="middle"
        >${tier.name}</text
      >
      <rect x="${BAR.label}" y="${y}" width="${w}" height="${BAR.row - BAR.gap * 2}" rx="3"></rect>
      <text
        class="value"
        x="${BAR.label + w + 6}"
        y="${y + BAR.row / 2 + 1}"
        dominant-baseline="middle"
        >${options.text(value)}</text
      >
    </g>`;
  });
  return html`<figure class="chart">
    <figcaption>${options.title}</figcaption>
    <svg
      id="${options.id}"
      role="img"
      aria-label="${options.title}"
      viewBox="0 0 ${BAR.width} ${height}"
      width="${BAR.width}"
      height="${height}"
      xmlns="http://www.w3.org/2000/svg"
    >
      ${bars}
    </svg>
  </figure>`;
}

const LINE = { width: 900, height: 220, left: 36, right: 12, top: 12, bottom: 28 };

const SERIES: readonly { direction: MoveDirection; label: string }[] = [
  { direction: 'promote', label: 'promote' },
  { direction: 'demote', label: 'demote' },
  { direction: 'other', label: 'other (level no longer in the table)' },
];

/**
 * Moves per minute by direction as an inline SVG line chart (one polyline per direction, `other`
 * only when it has moves). Each polyline carries `data-series` and `data-values` (the 60 counts,
 * oldest first); each minute with moves has a point whose `<title>` says the minute and count.
 */
export function movesLineChart(moves: OverviewStats['moves']): SafeHtml {
  const minutes = moves.minutes;
  const series = SERIES.filter((s) => s.direction !== 'other' || moves.totals.other > 0);
  const peak = Math.max(1, ...minutes.flatMap((m) => series.map((s) => m[s.direction])));
  const plotW = LINE.width - LINE.left - LINE.right;
  const plotH = LINE.height - LINE.top - LINE.bottom;
  const x = (i: number) =>
    LINE.left + (minutes.length <= 1 ? 0 : (i / (minutes.length - 1)) * plotW);
  const y = (v: number) => LINE.top + plotH - (v / peak) * plotH;
  const round = (v: number) => Math.round(v * 10) / 10;

  const ticks = [0, Math.ceil(peak / 2), peak].filter((v, i, all) => all.indexOf(v) === i);
  const grid = ticks.map(
    (v) =>
      html`<line
          class="grid"
          x1="${LINE.left}"
          x2="${LINE.width - LINE.right}"
          y1="${round(y(v))}"
          y2="${round(y(v))}"
        ></line>
        <text
          class="axis"
          x="${LINE.left - 6}"
          y="${round(y(v))}"
          text-anchor="end"
          dominant-baseline="middle"
          >${v}</text
        >`,
  );
  const labels = minutes.flatMap((m, i) =>
    i % 15 === 0 || i === minutes.length - 1
      ? [
          html`<text
            class="axis"
            x="${round(x(i))}"
            y="${LINE.height - 8}"
            text-anchor="${i === minutes.length - 1 ? 'end' : 'middle'}"
            >${clock(m.at)}</text
          >`,
        ]
      : [],
  );
  const lines = series.map(({ direction, label }) => {
    const points = minutes.map((m, i) => `${round(x(i))},${round(y(m[direction]))}`).join(' ');
    const dots = minutes.flatMap((m: MinuteStats, i) =>
      m[direction] > 0
        ? [
            html`<circle
              class="point"
              data-minute="${new Date(m.at).toISOString()}"
              data-value="${m[direction]}"
              cx="${round(x(i))}"
              cy="${round(y(m[direction]))}"
              r="3.5"
              ><title>${clock(m.at)} UTC: ${m[direction]} ${label}</title></circle
            >`,
          ]
        : [],
    );
    return html`<g
      class="series ${direction}"
      data-series="${direction}"
      data-total="${moves.totals[direction]}"
    >
      <polyline
        data-values="${minutes.map((m) => m[direction]).join(',')}"
        points="${points}"
      ></polyline>
      ${dots}
    </g>`;
  });
  const legend = series.map(
    ({ direction, label }) =>
      html`<span class="key ${direction}">${label}: ${moves.totals[direction]}</span>`,
  );
  return html`<figure class="chart wide">
    <figcaption>Moves per minute, last hour (UTC) <span class="legend">${legend}</span></figcaption>
    <svg
      id="moves-chart"
      role="img"
      aria-label="Moves per minute by direction over the last hour"
      viewBox="0 0 ${LINE.width} ${LINE.height}"
      width="${LINE.width}"
      height="${LINE.height}"
      xmlns="http://www.w3.org/2000/svg"
    >
      ${grid} ${labels} ${lines}
    </svg>
  </figure>`;
}

function table(head: readonly string[], rows: readonly SafeHtml[], empty: string): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table>
    <thead>
      <tr>
        ${head.map((h) => html`<th>${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}

function tiersSection(stats: OverviewStats): SafeHtml {
  const rows = stats.tiers.map(
    (t) =>
      html`<tr data-tier="${t.name}">
        <td>${t.name}</td>
        <td>${t.minCount}–${t.maxCount ?? '∞'}</td>
        <td class="num">${t.files}</td>
        <td class="num">${bytesText(t.bytes)}</td>
        <td class="num">
          ${t.capacityBytes === null ? '—' : `${bytesText(t.capacityBytes)} (${t.percent ?? 0}%)`}
        </td>
      </tr>`,
  );
  return html`<section id="tiers">
    <h2>Tiers</h2>
    <div class="charts">
      ${tierBarChart(stats.tiers, { id: 'contents-chart', title: 'Contents per tier', value: (t) => t.files, text: (v) => `${v} contents` })}
      ${tierBarChart(stats.tiers, { id: 'bytes-chart', title: 'Bytes per tier', value: (t) => t.bytes, text: bytesText })}
    </div>
    ${table(['Tier', 'Views', 'Contents', 'Bytes', 'Capacity (used)'], rows, 'No levels.')}
  </section>`;
}

function queueSection(stats: OverviewStats): SafeHtml {
  const q = stats.queue;
  const states: [string, number][] = [
    ['waiting', q.waiting],
    ['active', q.active],
    ['delayed', q.delayed],
    ['failed', q.failed],
    ['completed (last hour)', q.completed],
    ['relocators connected', q.replicas],
  ];
  return html`<section id="queue">
    <h2>Queue</h2>
    <p class="state ${q.paused ? 'paused' : 'running'}" data-paused="${q.paused}">
      ${q.paused ? 'Relocations are paused: no new move starts (POST /v1/relocations/resume)' : 'Relocations are running'}
    </p>
    <dl class="counts">
      ${states.map(
        ([name, n]) =>
          html`<div data-state="${name.split(' ')[0]}">
            <dt>${name}</dt>
            <dd>${n}</dd>
          </div>`,
      )}
    </dl>
  </section>`;
}

function failedSection(stats: OverviewStats, links: AdminPageLinks): SafeHtml {
  const rows = stats.failed.items.map(
    (f) =>
      html`<tr data-cid="${f.cid}">
        <td><a href="${links.content(f.cid)}">${f.cid}</a></td>
        <td>${f.target ?? '—'}</td>
        <td class="error">${f.error}</td>
        <td>${f.failedAt === null ? '—' : stamp(f.failedAt)}</td>
      </tr>`,
  );
  return html`<section id="failed">
    <h2>
      Failed contents
      <small>${stats.failed.total} failed job${stats.failed.total === 1 ? '' : 's'} kept</small>
    </h2>
    ${table(['Content', 'Target', 'Error', 'Failed at'], rows, 'No failed relocation.')}
  </section>`;
}

function stuckSection(stats: OverviewStats, links: AdminPageLinks): SafeHtml {
  const rows = stats.stuck.items.map(
    (s) =>
      html`<tr data-cid="${s.cid}">
        <td><a href="${links.content(s.cid)}">${s.cid}</a></td>
        <td>${s.level} → ${s.target}</td>
        <td class="num">${s.viewCount}</td>
        <td>${stamp(s.since)}</td>
      </tr>`,
  );
  return html`<section id="stuck">
    <h2>
      Stuck contents
      <small
        >${stats.stuck.total} published by the last cache sweep; those queued, moved or failed since
        are left out</small
      >
    </h2>
    ${table(['Content', 'Level → target', 'Views', 'Stuck since'], rows, 'Nothing is stuck.')}
  </section>`;
}

function policySection(stats: OverviewStats): SafeHtml {
  const p = stats.policy;
  const entries: [string, string][] = [
    ['policy', p.policy],
    [
      'hysteresis',
      p.hysteresisPercent === null ? `${p.hysteresis} views` : `${p.hysteresisPercent}%`,
    ],
    ['minimum residence', p.minResidenceMs === 0 ? 'off' : durationText(p.minResidenceMs)],
    ...Object.entries(p.minResidenceByLevel).map(([level, ms]): [string, string] => [
      `minimum residence on ${level}`,
      durationText(ms),
    ]),
    [
      'flap budget',
      p.flapBudget === null
        ? 'off'
        : `${p.flapBudget.moves} moves per ${durationText(p.flapBudget.windowMs)}`,
    ],
  ];
  if (p.viewRate !== null) {
    entries.push(['rate half-life', durationText(p.viewRate.halfLifeMs)]);
    for (const [level, t] of Object.entries(p.viewRate.thresholds)) {
      entries.push([`${level} (views/hour)`, `promote ≥ ${t.promote}, demote < ${t.demote}`]);
    }
  }
  return html`<section id="policy">
    <h2>Placement policy</h2>
    <dl class="policy">
      ${entries.map(
        ([k, v]) =>
          html`<div>
            <dt>${k}</dt>
            <dd>${v}</dd>
          </div>`,
      )}
    </dl>
  </section>`;
}

/**
 * The overview page (`GET /admin`): a whole HTML document, no script, styles from
 * `links.stylesheet`, charts as inline SVG, every value escaped; reloads itself every
 * {@link ADMIN_PAGE_REFRESH_SECONDS} seconds.
 */
export function renderAdminPage(stats: OverviewStats, links: AdminPageLinks): string {
  return html`<!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <meta http-equiv="refresh" content="${ADMIN_PAGE_REFRESH_SECONDS}" />
        <title>Relocation overview</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="${links.stylesheet}" />
      </head>
      <body>
        <header>
          <h1>Relocation overview</h1>
          <p class="meta">
            Read at ${stamp(stats.at)} · level table version ${stats.version ?? 'unknown'} · reloads
            every ${ADMIN_PAGE_REFRESH_SECONDS} s
          </p>
          <nav>
            <a href="${links.bullBoard}">Bull Board</a><a href="${links.docs}">API docs</a
            ><a href="${links.metrics}">Metrics</a><a href="${links.stats}">JSON</a>
          </nav>
        </header>
        <main>
          ${tiersSection(stats)}
          <section id="moves">
            <h2>Moves</h2>
            ${movesLineChart(stats.moves)}
          </section>
          ${queueSection(stats)} ${failedSection(stats, links)} ${stuckSection(stats, links)}
          ${policySection(stats)}
        </main>
      </body>
    </html> `.html;
}

/** The page's style sheet (served by the gateway: the page's CSP loads styles from itself). */
export const ADMIN_PAGE_CSS = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6575; --line: #d9dee6; --promote: #2f7d32; --demote: #b5462b; --other: #7a6a9a; --bar: #3566a8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f5f7fa; }
header { padding: 16px 24px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { margin: 0 0 4px; font-size: 20px; }
h2 { margin: 0 0 12px; font-size: 16px; }
h2 small { font-weight: normal; color: var(--muted); margin-left: 8px; }
.meta { margin: 0 0 8px; color: var(--muted); }
nav a { margin-right: 16px; }
a { color: #1f5fae; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; padding: 16px 24px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 16px; overflow-x: auto; }
#tiers, #moves { grid-column: 1 / -1; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
figure.chart { margin: 0 0 12px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.legend { font-weight: normal; margin-left: 12px; }
.key { margin-right: 12px; }
.key::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; background: currentColor; }
.key.promote { color: var(--promote); } .key.demote { color: var(--demote); } .key.other { color: var(--other); }
svg { max-width: 100%; height: auto; font: 12px system-ui, sans-serif; }
svg text { fill: var(--ink); }
svg .axis { fill: var(--muted); font-size: 11px; }
svg .grid { stroke: var(--line); stroke-width: 1; }
.bar rect { fill: var(--bar); }
.series polyline { fill: none; stroke-width: 2; }
.series.promote polyline { stroke: var(--promote); } .series.promote circle { fill: var(--promote); }
.series.demote polyline { stroke: var(--demote); } .series.demote circle { fill: var(--demote); }
.series.other polyline { stroke: var(--other); } .series.other circle { fill: var(--other); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.error { color: var(--demote); max-width: 360px; overflow-wrap: anywhere; }
.empty { color: var(--muted); margin: 0; }
.state { display: inline-block; margin: 0 0 12px; padding: 4px 10px; border-radius: 12px; font-weight: 600; }
.state.running { background: #e6f3e7; color: var(--promote); }
.state.paused { background: #fbe9e4; color: var(--demote); }
dl { margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; }
dl div { border: 1px solid var(--line); border-radius: 4px; padding: 6px 10px; }
dt { color: var(--muted); font-size: 12px; }
dd { margin: 0; font-size: 18px; font-weight: 600; }
dl.policy dd { font-size: 14px; }
`;
