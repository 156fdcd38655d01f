import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceMetrics } from '@platform/service-defaults';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { SagaEvent } from '../domain/order-saga';
import { AfterCommit, PrometheusSagaObserver } from './saga-metrics';

const T0 = '2026-01-01T00:00:00.000Z';
const T3 = '2026-01-01T00:00:03.000Z';

function fixture() {
  const dataSource = { subscribers: [] } as unknown as DataSource;
  const afterCommit = new AfterCommit(dataSource);
  const metrics = new ServiceMetrics();
  const observer = new PrometheusSagaObserver(metrics, afterCommit);
  const runner = { isTransactionActive: true } as QueryRunner;
  const manager = { queryRunner: runner } as EntityManager;
  const finish = (outcome: 'commit' | 'rollback') => {
    (runner as { isTransactionActive: boolean }).isTransactionActive = false;
    if (outcome === 'commit') afterCommit.afterTransactionCommit({ queryRunner: runner });
    else afterCommit.afterTransactionRollback({ queryRunner: runner });
  };
  const text = () => metrics.registry.metrics();
  return { dataSource, afterCommit, observer, manager, finish, text };
}

const started: SagaEvent = {
  type: 'SagaStarted',
  data: { orderId: 'o-1', customerId: 'c', lines: [], currency: 'EUR', at: T0 },
};

describe('saga metrics', () => {
  it('when saga events commit, then started, compensations, outcome and duration are counted', async () => {
    const { observer, manager, finish, text, dataSource } = fixture();
    assert.equal(dataSource.subscribers.length, 1, 'subscribed to transaction events');
    observer.appended(manager, [started], undefined);
    observer.appended(
      manager,
      [
        {
          type: 'CompensationStarted',
          data: {
            reason: 'declined',
            releaseStock: true,
            cancelPayment: false,
            deadlineAt: T3,
            at: T3,
          },
        },
        { type: 'SagaRejected', data: { reason: 'declined', at: T3 } },
      ],
      T0,
    );
    assert.doesNotMatch(await text(), /^saga_started_total 1$/m, 'nothing before the commit');
    finish('commit');
    const scraped = await text();
    assert.match(scraped, /^saga_started_total 1$/m);
    assert.match(scraped, /^saga_compensations_total 1$/m);
    assert.match(scraped, /^saga_completed_total\{outcome="rejected"\} 1$/m);
    assert.match(scraped, /^saga_duration_seconds_sum\{outcome="rejected"\} 3$/m);
    assert.match(scraped, /^saga_duration_seconds_count\{outcome="rejected"\} 1$/m);
  });

  it('when the transaction rolls back, then nothing is counted', async () => {
    const { observer, manager, finish, text } = fixture();
    observer.appended(
      manager,
      [started, { type: 'SagaConfirmed', data: { total: 1, at: T3 } }],
      T0,
    );
    finish('rollback');
    const scraped = await text();
    assert.match(scraped, /^saga_started_total 0$/m);
    assert.doesNotMatch(scraped, /outcome="confirmed"/);
  });

  it('when a saga needs attention, then it counts as needs_attention without a duration', async () => {
    const { observer, manager, finish, text } = fixture();
    observer.appended(
      manager,
      [{ type: 'SagaNeedsAttention', data: { reason: 'release keeps failing', at: T3 } }],
      T0,
    );
    finish('commit');
    const scraped = await text();
    assert.match(scraped, /^saga_completed_total\{outcome="needs_attention"\} 1$/m);
    assert.doesNotMatch(scraped, /saga_duration_seconds_count\{outcome="needs_attention"\}/);
  });
});
