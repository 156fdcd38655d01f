import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './index';

/**
 * The monitoring configuration (infra/prometheus, infra/grafana) is checked without running
 * Prometheus: promtool validates the configs and rules and runs the rule unit tests, and every
 * metric a rule or dashboard queries must be one the services export (infra/metrics-catalog.json),
 * so a renamed metric cannot silently leave an alert or panel empty.
 */
const prometheusDir = path.join(repoRoot, 'infra', 'prometheus');
const grafanaDir = path.join(repoRoot, 'infra', 'grafana');
const catalogFile = path.join(repoRoot, 'infra', 'metrics-catalog.json');

/** The planned metric names, used only while infra/metrics-catalog.json does not exist yet. */
const PLANNED_METRICS: readonly CatalogEntry[] = [
  { name: 'http_server_requests_total', type: 'counter' },
  { name: 'http_server_request_duration_seconds', type: 'histogram' },
  { name: 'process_cpu_seconds_total', type: 'counter' },
  { name: 'process_resident_memory_bytes', type: 'gauge' },
  { name: 'nodejs_heap_size_used_bytes', type: 'gauge' },
  { name: 'nodejs_heap_size_total_bytes', type: 'gauge' },
  { name: 'nodejs_eventloop_lag_seconds', type: 'gauge' },
  { name: 'outbox_backlog_messages', type: 'gauge' },
  { name: 'outbox_oldest_message_age_seconds', type: 'gauge' },
  { name: 'messaging_handler_duration_seconds', type: 'histogram' },
  { name: 'messaging_dead_letters_total', type: 'counter' },
  { name: 'messaging_handler_retries_total', type: 'counter' },
  { name: 'projection_lag_seconds', type: 'gauge' },
  { name: 'saga_started_total', type: 'counter' },
  { name: 'saga_completed_total', type: 'counter' },
  { name: 'saga_duration_seconds', type: 'histogram' },
  { name: 'saga_compensations_total', type: 'counter' },
  { name: 'payment_provider_breaker_state', type: 'gauge' },
];

/** Series Prometheus makes itself, not the services. */
const SYNTHETIC_SERIES = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE']);

/** PromQL words that look like metric names but are not. */
const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'Inf',
  'nan',
  'NaN',
]);

interface CatalogEntry {
  readonly name: string;
  readonly type: string | undefined;
}

function promtool(args: string[]): { status: number; output: string } {
  const result = spawnSync('promtool', args, { cwd: prometheusDir, encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      `promtool is not installed (Debian: apt-get install prometheus; \`npm run setup\` does it as root): ${result.error.message}`,
    );
  }
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

function filesIn(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => path.join(dir, name));
}

const ruleFiles = (): string[] => filesIn(path.join(prometheusDir, 'rules'), '.yml');
const ruleTestFiles = (): string[] => filesIn(path.join(prometheusDir, 'tests'), '.test.yml');
const dashboardFiles = (): string[] => filesIn(path.join(grafanaDir, 'dashboards'), '.json');

/**
 * The `expr` values and `record` names of a rule file. The rule files are plain YAML written in
 * one style (`expr: <one line>` or `expr: |` followed by a more indented block), which is all this
 * reads; promtool has already validated the files as a whole.
 */
function readRules(file: string): { exprs: string[]; records: string[] } {
  const lines = readFileSync(file, 'utf8').split('\n');
  const exprs: string[] = [];
  const records: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const record = /^\s*(?:- )?record:\s*(\S+)/.exec(line);
    if (record?.[1]) records.push(record[1]);
    const expr = /^(\s*)(?:- )?expr:\s*(.*)$/.exec(line);
    if (!expr) continue;
    const indent = (expr[1] ?? '').length;
    const rest = (expr[2] ?? '').trim();
    if (!/^[|>][-+]?$/.test(rest)) {
      exprs.push(rest.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1'));
      continue;
    }
    const block: string[] = [];
    while (i + 1 < lines.length) {
      const next = lines[i + 1] ?? '';
      if (next.trim() !== '' && next.length - next.trimStart().length <= indent) break;
      block.push(next);
      i++;
    }
    exprs.push(block.join('\n'));
  }
  return { exprs, records };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every `expr` of every panel target (including nested rows) and of every template variable. */
function dashboardQueries(file: string): string[] {
  const queries: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (!isRecord(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'expr' || key === 'query' || key === 'definition') && typeof value === 'string')
        queries.push(value);
      else visit(value);
    }
  };
  visit(JSON.parse(readFileSync(file, 'utf8')));
  return queries;
}

/** Metric names a PromQL expression (or a Grafana `label_values(metric, label)`) selects. */
function metricNames(expr: string): string[] {
  const labelValues = /^\s*label_values\(\s*([A-Za-z_:][\w:]*)\s*,/.exec(expr);
  if (labelValues?.[1]) return [labelValues[1]];
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?[\w$]+/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.$])[A-Za-z_:][\w:]*/g)) {
    const name = match[0];
    const after = stripped.slice(match.index + name.length).trimStart();
    if (after.startsWith('(') || PROMQL_KEYWORDS.has(name)) continue;
    names.add(name);
  }
  return [...names];
}

function entryFrom(name: string, value: unknown): CatalogEntry {
  const type = isRecord(value) && typeof value.type === 'string' ? value.type : undefined;
  return { name, type };
}

/**
 * The metric catalogue: an array of `{ name, type, labels }`, an object with such an array under
 * `metrics`, or an object keyed by metric name.
 */
function readCatalog(): { source: string; entries: CatalogEntry[] } {
  if (!existsSync(catalogFile)) return { source: 'planned list', entries: [...PLANNED_METRICS] };
  const parsed: unknown = JSON.parse(readFileSync(catalogFile, 'utf8'));
  const list: unknown = isRecord(parsed) && Array.isArray(parsed.metrics) ? parsed.metrics : parsed;
  const entries: CatalogEntry[] = [];
  if (Array.isArray(list)) {
    for (const item of list) {
      if (isRecord(item) && typeof item.name === 'string') entries.push(entryFrom(item.name, item));
    }
  } else if (isRecord(list)) {
    for (const [name, value] of Object.entries(list)) entries.push(entryFrom(name, value));
  }
  assert.ok(entries.length > 0, `${catalogFile} lists no metrics in a shape this test understands`);
  return { source: path.relative(repoRoot, catalogFile), entries };
}

/** Whether a queried series name is exported, counting a histogram's _bucket/_sum/_count. */
function inCatalog(name: string, entries: readonly CatalogEntry[]): boolean {
  return entries.some((entry) => {
    if (entry.name === name || `${entry.name}_total` === name) return true;
    const suffix = /_(bucket|sum|count)$/.exec(name);
    if (!suffix || name.slice(0, suffix.index) !== entry.name) return false;
    return entry.type === undefined || entry.type === 'histogram' || suffix[1] !== 'bucket';
  });
}

describe('Prometheus configuration and rules', () => {
  it('when the local and compose configs are checked by promtool, then both are valid with their rule files', () => {
    for (const config of ['prometheus.yml', 'prometheus.compose.yml']) {
      const result = promtool(['check', 'config', config]);
      assert.equal(result.status, 0, `${config}:\n${result.output}`);
      assert.match(result.output, /SUCCESS: [1-9]\d* rule files found/, config);
    }
  });

  it('when the rule files are checked by promtool, then they are valid', () => {
    const files = ruleFiles();
    assert.ok(files.length > 0, 'no rule files in infra/prometheus/rules');
    const result = promtool(['check', 'rules', ...files]);
    assert.equal(result.status, 0, result.output);
  });

  it('when the rule unit tests run (promtool test rules), then they all pass', () => {
    const files = ruleTestFiles();
    assert.ok(files.length > 0, 'no rule tests in infra/prometheus/tests');
    const result = promtool(['test', 'rules', ...files]);
    assert.equal(result.status, 0, result.output);
  });

  it('when an SLO burn-rate alert exists, then every one of them is exercised by a rule test', () => {
    const alerts = ruleFiles()
      .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/^\s*- alert:\s*(\S+)/gm)])
      .map((match) => match[1] ?? '')
      .filter((name) => name.includes('BudgetBurn'));
    assert.ok(alerts.length >= 8, `burn-rate alerts found: ${alerts.join(', ')}`);
    const tests = ruleTestFiles()
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const untested = alerts.filter((name) => !new RegExp(`alertname:\\s*${name}\\b`).test(tests));
    assert.deepEqual(untested, [], `burn-rate alerts without a rule test: ${untested.join(', ')}`);
  });
});

describe('metric names used by rules and dashboards', () => {
  it('when a rule or a dashboard queries a metric, then the services export it (metric catalogue)', (t) => {
    const { source, entries } = readCatalog();
    if (source === 'planned list')
      t.diagnostic(
        `${path.relative(repoRoot, catalogFile)} does not exist yet: checked against the planned names`,
      );
    const rules = ruleFiles().map(readRules);
    const recorded = new Set(rules.flatMap((rule) => rule.records));
    const uses = new Map<string, Set<string>>();
    const use = (where: string, expr: string): void => {
      for (const name of metricNames(expr)) {
        if (recorded.has(name) || SYNTHETIC_SERIES.has(name)) continue;
        const places = uses.get(name) ?? new Set<string>();
        places.add(where);
        uses.set(name, places);
      }
    };
    ruleFiles().forEach((file, index) => {
      for (const expr of rules[index]?.exprs ?? []) use(path.relative(repoRoot, file), expr);
    });
    for (const file of dashboardFiles()) {
      for (const query of dashboardQueries(file)) use(path.relative(repoRoot, file), query);
    }
    assert.ok(
      uses.size > 10,
      `only found ${[...uses.keys()].join(', ')}: the extraction is broken`,
    );
    const missing = [...uses]
      .filter(([name]) => !inCatalog(name, entries))
      .map(([name, places]) => `${name} (used in ${[...places].join(', ')})`);
    assert.deepEqual(missing, [], `metrics not in ${source}:\n  ${missing.join('\n  ')}`);
  });

  it('when metric names are read from PromQL, then functions, labels, strings and durations are ignored', () => {
    assert.deepEqual(
      metricNames(
        'sum by (service, le) (rate(a_bucket{le="0.1",x=~"$service"}[5m])) / on (service) group_left (route) b > (14.4 * 0.01) and c offset 10m unless 1e3',
      ).sort(),
      ['a_bucket', 'b', 'c'],
    );
    assert.deepEqual(metricNames('label_values(http_server_requests_total, service)'), [
      'http_server_requests_total',
    ]);
  });
});

describe('Grafana provisioning', () => {
  it('when a dashboard panel names a datasource, then it is the provisioned Prometheus', () => {
    const provisioned = readFileSync(
      path.join(grafanaDir, 'provisioning', 'datasources', 'prometheus.yml'),
      'utf8',
    );
    const uid = /^\s*uid:\s*(\S+)/m.exec(provisioned)?.[1];
    assert.ok(uid, 'the provisioned datasource has a uid');
    const files = dashboardFiles();
    assert.ok(files.length >= 4, `dashboards: ${files.join(', ')}`);
    const uids = new Set<string>();
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (isRecord(node)) {
        const datasource = node.datasource;
        if (isRecord(datasource) && typeof datasource.uid === 'string') uids.add(datasource.uid);
        Object.values(node).forEach(visit);
      }
    };
    for (const file of files) visit(JSON.parse(readFileSync(file, 'utf8')));
    assert.deepEqual([...uids], [uid]);
  });
});
