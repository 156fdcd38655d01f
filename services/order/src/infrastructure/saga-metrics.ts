import type { ServiceMetrics } from '@platform/service-defaults';
import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import type { SagaEvent } from '../domain/order-saga';
import type { SagaObserver } from '../features/saga/saga-processor';

/**
 * Runs callbacks after the transaction a manager belongs to commits, and drops them when it rolls
 * back, through TypeORM's transaction events. Metrics counted this way never count a saga step
 * that a rollback (a conflict, a crash mid-handler) undid and a redelivery will redo.
 */
export class AfterCommit implements EntitySubscriberInterface {
  private readonly pending = new WeakMap<QueryRunner, (() => void)[]>();

  constructor(dataSource: DataSource) {
    dataSource.subscribers.push(this);
  }

  run(manager: EntityManager, callback: () => void): void {
    const runner = manager.queryRunner;
    if (!runner?.isTransactionActive) {
      callback();
      return;
    }
    const callbacks = this.pending.get(runner) ?? [];
    callbacks.push(callback);
    this.pending.set(runner, callbacks);
  }

  afterTransactionCommit(event: { queryRunner: QueryRunner }): void {
    // A released savepoint also "commits"; only the outermost commit makes the work durable.
    if (event.queryRunner.isTransactionActive) return;
    const callbacks = this.pending.get(event.queryRunner) ?? [];
    this.pending.delete(event.queryRunner);
    for (const callback of callbacks) callback();
  }

  afterTransactionRollback(event: { queryRunner: QueryRunner }): void {
    // Conservative for savepoints: a rolled-back inner step drops everything pending (under-counts
    // only if a service ever nests saga work inside a savepoint that then rolls back).
    this.pending.delete(event.queryRunner);
  }
}

const OUTCOMES: Partial<Record<SagaEvent['type'], 'confirmed' | 'rejected' | 'needs_attention'>> = {
  SagaConfirmed: 'confirmed',
  SagaRejected: 'rejected',
  SagaNeedsAttention: 'needs_attention',
};

/** Saga metrics (names in libs/service-defaults/README.md), counted after the commit. */
export class PrometheusSagaObserver implements SagaObserver {
  private readonly started;
  private readonly completed;
  private readonly duration;
  private readonly compensations;

  constructor(
    metrics: ServiceMetrics,
    private readonly afterCommit: AfterCommit,
  ) {
    this.started = metrics.counter({
      name: 'saga_started_total',
      help: 'Order sagas started.',
    });
    this.completed = metrics.counter({
      name: 'saga_completed_total',
      help: 'Order sagas reaching an outcome: confirmed, rejected, or needs_attention (a compensation keeps failing; may still complete as rejected later).',
      labelNames: ['outcome'],
    });
    this.duration = metrics.histogram({
      name: 'saga_duration_seconds',
      help: 'Time from saga start to its final outcome (confirmed or rejected), by the saga clock.',
      labelNames: ['outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    });
    this.compensations = metrics.counter({
      name: 'saga_compensations_total',
      help: 'Order sagas that started compensating (releasing stock, cancelling payment).',
    });
  }

  appended(
    manager: EntityManager,
    events: readonly SagaEvent[],
    startedAt: string | undefined,
  ): void {
    this.afterCommit.run(manager, () => {
      for (const event of events) {
        if (event.type === 'SagaStarted') this.started.inc();
        if (event.type === 'CompensationStarted') this.compensations.inc();
        const outcome = OUTCOMES[event.type];
        if (outcome === undefined) continue;
        this.completed.inc({ outcome });
        if (outcome !== 'needs_attention' && startedAt !== undefined && 'at' in event.data) {
          const seconds = (Date.parse(event.data.at) - Date.parse(startedAt)) / 1000;
          if (Number.isFinite(seconds) && seconds >= 0) this.duration.observe({ outcome }, seconds);
        }
      }
    });
  }
}
