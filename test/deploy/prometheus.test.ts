import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROMETHEUS_DIR, filesIn, readRules, readYaml } from './support.ts';

const run = promisify(execFile);

/** Debian's `prometheus` package installs it (`apt-get install prometheus`; `.ci/run` does). */
const PROMTOOL = 'promtool';

/** `promtool --version`'s first line, or null when there is no promtool on the PATH. */
async function promtoolVersion(): Promise<string | null> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, ['--version']);
    return (stdout || stderr).split('\n')[0] ?? '';
  } catch {
    return null;
  }
}

const version = await promtoolVersion();
// On CI a missing promtool fails the tests below; on a developer's machine they are skipped.
const required = Boolean(process.env.CI);
if (version === null && !required) {
  console.warn('prometheus.test.ts: skipped, no promtool (apt-get install prometheus)');
}

/** Runs promtool in deploy/prometheus; rejects with its output when it exits non-zero. */
async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: PROMETHEUS_DIR });
    return `${stdout}${stderr}`;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
  }
}

/** An alert_rule_test of a promtool unit test file. */
interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[];
}

/** A promtool unit test file. */
interface UnitTestFile {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: AlertRuleTest[] }[];
}

describe.skipIf(version === null && !required)('Prometheus configuration (promtool)', () => {
  it('has promtool to check with', () => {
    expect(version, 'no promtool on the PATH: apt-get install -y prometheus').not.toBeNull();
  });

  it('accepts prometheus.yml and finds its rule files', async () => {
    const output = await promtool('check', 'config', 'prometheus.yml');
    expect(output).toContain('SUCCESS: prometheus.yml is valid prometheus config file syntax');
    expect(output).toMatch(/SUCCESS: 1 rule files found/);
  });

  it('accepts every rule file', async () => {
    const files = await filesIn(path.join(PROMETHEUS_DIR, 'rules'), '.yml');
    expect(files.length).toBeGreaterThan(0);
    const output = await promtool('check', 'rules', ...files);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes the unit tests of the rules', async () => {
    const files = await filesIn(path.join(PROMETHEUS_DIR, 'tests'), '.test.yml');
    expect(files.length).toBeGreaterThan(0);
    const output = await promtool('test', 'rules', ...files);
    expect(output).not.toContain('FAILED');
    expect(output.match(/SUCCESS/g)).toHaveLength(files.length);
  });
});

describe('Prometheus alert rules', () => {
  it('give every alert a duration, a severity, and a summary and description for the operator', async () => {
    const alerts = (await readRules()).filter((rule) => rule.alert !== undefined);
    expect(alerts.length).toBeGreaterThan(0);
    for (const alert of alerts) {
      expect(alert.for, `${alert.alert}: for`).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info'], `${alert.alert}: severity`).toContain(
        alert.labels?.severity,
      );
      expect(alert.annotations?.summary, `${alert.alert}: summary`).toBeTruthy();
      expect(alert.annotations?.description?.length, `${alert.alert}: description`).toBeGreaterThan(
        80,
      );
    }
  });

  it('have unit tests for each alert: a case that fires it and one that does not', async () => {
    const alerts = (await readRules()).flatMap((rule) => (rule.alert ? [rule.alert] : []));
    const firing = new Set<string>();
    const silent = new Set<string>();
    for (const file of await filesIn(path.join(PROMETHEUS_DIR, 'tests'), '.test.yml')) {
      const content = await readYaml<UnitTestFile>(file);
      expect(content.rule_files, file).toContain('../rules/relocation.rules.yml');
      for (const test of content.tests) {
        for (const check of test.alert_rule_test ?? []) {
          ((check.exp_alerts ?? []).length > 0 ? firing : silent).add(check.alertname);
        }
      }
    }
    expect(alerts.filter((alert) => !firing.has(alert))).toEqual([]);
    expect(alerts.filter((alert) => !silent.has(alert))).toEqual([]);
    // And no test names an alert that does not exist.
    expect([...firing, ...silent].filter((name) => !alerts.includes(name))).toEqual([]);
  });
});
