import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildGateway,
  freePort,
  openServices,
  startRealRelocator,
  type Gateway,
  type RealRelocator,
  type Services,
} from '../gateway/support.ts';
import {
  GRAFANA_DIR,
  ROOT,
  exprUses,
  metricFamilies,
  readRules,
  readYaml,
  type SelectorUse,
} from './support.ts';

/** The parts of a Grafana dashboard this test reads. */
interface Dashboard {
  uid?: unknown;
  title?: unknown;
  schemaVersion?: unknown;
  panels?: Panel[];
}

interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { h?: unknown; w?: unknown; x?: unknown; y?: unknown };
  datasource?: { type?: unknown; uid?: unknown };
  targets?: { expr?: unknown; refId?: unknown; datasource?: { uid?: unknown } }[];
  panels?: Panel[];
}

interface DatasourceProvisioning {
  datasources: { name: string; uid: string; type: string; url: string }[];
}

interface DashboardProvisioning {
  providers: { name: string; type: string; options: { path: string } }[];
}

interface ComposeFile {
  services: Record<
    string,
    { image?: string; profiles?: string[]; ports?: string[]; volumes?: string[] }
  >;
}

/** Labels Prometheus adds to every scraped series, and the histogram bucket label. */
const SCRAPE_LABELS = ['job', 'instance', 'le'];

/** Series Prometheus makes itself for every target. */
const SYNTHETIC_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];

const DASHBOARD_FILE = path.join(GRAFANA_DIR, 'dashboards', 'relocation.json');

async function readDashboard(): Promise<Dashboard> {
  return JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every panel, rows' collapsed panels included. */
function allPanels(dashboard: Dashboard): Panel[] {
  return (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** The expressions of the dashboard's targets and of the rules, named for messages. */
async function allExprs(): Promise<{ where: string; expr: string }[]> {
  const panels = allPanels(await readDashboard());
  const fromDashboard = panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `dashboard panel "${String(panel.title)}" ${String(target.refId)}`,
      expr: String(target.expr),
    })),
  );
  const fromRules = (await readRules()).map((rule) => ({
    where: `rule ${rule.alert ?? rule.record ?? '?'}`,
    expr: rule.expr,
  }));
  return [...fromDashboard, ...fromRules];
}

/** Label names of each metric of a prom-client registry, by series name (histograms expanded). */
function labelNamesOf(registry: Registry): Map<string, string[]> {
  const labels = new Map<string, string[]>();
  for (const metric of registry.getMetricsAsArray()) {
    // prom-client keeps a metric's label names on the instance (not in its public type).
    const names = [...((metric as { labelNames?: readonly string[] }).labelNames ?? [])];
    const series =
      metric.type.toString() === 'histogram'
        ? ['_bucket', '_sum', '_count'].map((suffix) => `${metric.name}${suffix}`)
        : [metric.name];
    for (const name of series) labels.set(name, names);
  }
  return labels;
}

describe('Grafana dashboard and provisioning', () => {
  it('is a valid dashboard: uid, schemaVersion, panels with unique ids and grid positions', async () => {
    const dashboard = await readDashboard();
    expect(dashboard.uid).toBe('relocation');
    expect(typeof dashboard.title).toBe('string');
    expect(dashboard.schemaVersion).toEqual(expect.any(Number));
    expect(dashboard.schemaVersion as number).toBeGreaterThanOrEqual(36);
    const panels = allPanels(dashboard);
    expect(panels.length).toBeGreaterThan(10);
    const ids = panels.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const { h, w, x, y } = panel.gridPos ?? {};
      const what = `panel ${String(panel.id)} "${String(panel.title)}"`;
      for (const value of [h, w, x, y]) expect(value, what).toEqual(expect.any(Number));
      expect((x as number) + (w as number), `${what} fits 24 columns`).toBeLessThanOrEqual(24);
    }
  });

  it('queries the provisioned Prometheus datasource from every panel and target', async () => {
    const provisioning = await readYaml<DatasourceProvisioning>(
      path.join(GRAFANA_DIR, 'provisioning', 'datasources', 'prometheus.yml'),
    );
    const [datasource] = provisioning.datasources;
    expect(provisioning.datasources).toHaveLength(1);
    expect(datasource).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const uid = datasource?.uid;
    expect(uid).toBeTruthy();
    const panels = allPanels(await readDashboard()).filter((panel) => panel.type !== 'row');
    for (const panel of panels) {
      const what = `panel ${String(panel.id)} "${String(panel.title)}"`;
      expect(panel.datasource, what).toEqual({ type: 'prometheus', uid });
      expect(panel.targets?.length, what).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.expr, what).toEqual(expect.stringMatching(/\S/));
        expect(target.datasource?.uid, what).toBe(uid);
      }
      expect(new Set(panel.targets?.map((t) => t.refId)).size, what).toBe(panel.targets?.length);
    }
  });

  it('is loaded by the compose profile observability from the paths provisioning names', async () => {
    const compose = await readYaml<ComposeFile>(path.join(ROOT, 'docker-compose.yml'));
    const provider = await readYaml<DashboardProvisioning>(
      path.join(GRAFANA_DIR, 'provisioning', 'dashboards', 'relocation.yml'),
    );
    const { prometheus, grafana } = compose.services;
    expect(prometheus?.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(grafana?.image).toMatch(/^grafana\/grafana-oss:\d+\.\d+\.\d+$/);
    expect(prometheus?.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
    expect(grafana?.volumes).toContain(
      './deploy/grafana/provisioning:/etc/grafana/provisioning:ro',
    );
    expect(grafana?.volumes).toContain(
      `./deploy/grafana/dashboards:${provider.providers[0]?.options.path}:ro`,
    );
    expect(prometheus?.ports).toEqual(['${PROMETHEUS_PORT:-9090}:9090']);
    expect(grafana?.ports).toEqual(['${GRAFANA_PORT:-3001}:3000']);
    // Only these two are in the profile: a plain `docker compose up` starts everything else.
    const profiled = Object.entries(compose.services)
      .filter(([, service]) => service.profiles !== undefined)
      .map(([name, service]) => [name, service.profiles]);
    expect(profiled).toEqual([
      ['prometheus', ['observability']],
      ['grafana', ['observability']],
    ]);
  });
});

describe('metric names in the dashboard and the alert rules', () => {
  let services: Services;
  let gateway: Gateway;
  let relocator: RealRelocator;
  /** Series names the real apps export, with their label names. */
  const exported = new Map<string, string[]>();

  beforeAll(async () => {
    services = await openServices();
    gateway = await buildGateway(services);
    // Port 0 turns the relocator's metrics server off: give it a real one.
    relocator = await startRealRelocator(services, {
      RELOCATOR_METRICS_PORT: String(await freePort()),
      RELOCATOR_METRICS_HOST: '127.0.0.1',
    });
    const port = relocator.relocator.metricsPort;
    if (port === null) throw new Error('the relocator serves no metrics');
    const pages = [
      (await gateway.app.inject({ method: 'GET', url: '/metrics' })).body,
      await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    ];
    const labels = new Map([
      ...labelNamesOf(gateway.app.metrics.registry),
      ...labelNamesOf(relocator.relocator.metrics.registry),
    ]);
    for (const page of pages) {
      for (const family of metricFamilies(page)) {
        for (const series of family.series) exported.set(series, labels.get(series) ?? []);
      }
    }
  });
  afterAll(async () => {
    await relocator?.close();
    await gateway?.app.close();
    await services?.close();
  });

  it('reads the metrics of both apps from their /metrics pages', () => {
    expect(exported.has('gateway_posts_total')).toBe(true);
    expect(exported.get('relocator_moves_total')).toEqual(['outcome', 'from', 'to']);
    expect(exported.has('relocator_move_duration_seconds_bucket')).toBe(true);
  });

  it('names only metrics the apps export, recording rules that exist, and labels they have', async () => {
    const rules = await readRules();
    const recorded = new Map<string, string[]>();
    const exprs = await allExprs();
    for (const rule of rules) {
      if (rule.record === undefined) continue;
      // A recording rule keeps its grouping labels (all rules here aggregate with `by`).
      recorded.set(rule.record, exprUses(rule.expr).groupingLabels);
    }
    const known = (use: SelectorUse): string[] | undefined =>
      exported.get(use.metric) ??
      recorded.get(use.metric) ??
      (SYNTHETIC_SERIES.includes(use.metric) ? [] : undefined);
    const allLabels = new Set([...exported.values(), ...recorded.values()].flat());
    const problems: string[] = [];
    for (const { where, expr } of exprs) {
      const uses = exprUses(expr);
      expect(uses.selectors.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const use of uses.selectors) {
        const labels = known(use);
        if (labels === undefined) {
          problems.push(`${where}: ${use.metric} is not exported by the gateway or relocator`);
          continue;
        }
        for (const label of use.labels) {
          if (!labels.includes(label) && !SCRAPE_LABELS.includes(label)) {
            problems.push(`${where}: ${use.metric} has no label ${label}`);
          }
        }
      }
      for (const label of uses.groupingLabels) {
        if (!allLabels.has(label) && !SCRAPE_LABELS.includes(label)) {
          problems.push(`${where}: no metric has the label ${label}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('finds a misspelt metric or label (the check itself works)', () => {
    const uses = exprUses(
      'sum by (outcome) (rate(relocator_move_total{outcom="failed"}[5m])) or vector(0)',
    );
    expect(uses.selectors).toEqual([{ metric: 'relocator_move_total', labels: ['outcom'] }]);
    expect(exported.has('relocator_move_total')).toBe(false);
    expect(exported.get('relocator_moves_total')).not.toContain('outcom');
  });
});
