import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ServiceMetrics } from './metrics';

interface CatalogEntry {
  name: string;
  type: string;
  labels: string[];
  help: string;
}

const catalog = JSON.parse(
  readFileSync(join(__dirname, '..', '..', '..', 'infra', 'metrics-catalog.json'), 'utf8'),
) as CatalogEntry[];

describe('infra/metrics-catalog.json', () => {
  it('when the service defaults register a metric, then the catalog lists it with its type and labels', () => {
    const metrics = new ServiceMetrics();
    for (const metric of metrics.registry.getMetricsAsArray()) {
      const entry = catalog.find((e) => e.name === metric.name);
      assert.ok(entry, `${metric.name} is missing from the catalog`);
      const { type, labelNames } = metric as unknown as { type: string; labelNames?: string[] };
      assert.equal(entry.type, type, metric.name);
      assert.deepEqual(entry.labels, ['service', ...(labelNames ?? [])], metric.name);
    }
  });
});
