import type { DataSource } from 'typeorm';
import type { SagaStep } from '../../domain/order-saga';
import type { OrderSagaProcessor } from './saga-processor';

export interface DeadlineSchedulerOptions {
  readonly intervalMs?: number;
  readonly batchSize?: number;
  readonly onError?: (error: unknown) => void;
  readonly clock?: () => Date;
}

/**
 * Fires due saga deadlines. Deadlines live in Postgres (saga_deadlines), so they survive restarts.
 * Each due row is fired in its own transaction that takes the order's advisory lock and then the
 * row with FOR UPDATE SKIP LOCKED: with several instances, one fires it and the others skip it.
 * A deadline fired twice anyway (a crash after firing, before commit, cannot happen: it is one
 * transaction) would be ignored by the saga, which only honours the deadline currently armed.
 */
export class DeadlineScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly clock: () => Date;

  constructor(
    private readonly dataSource: DataSource,
    private readonly processor: OrderSagaProcessor,
    private readonly options: DeadlineSchedulerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 500;
    this.batchSize = options.batchSize ?? 50;
    this.clock = options.clock ?? (() => new Date());
  }

  start(): void {
    if (this.timer) return;
    const loop = () => {
      this.running = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    this.timer = setTimeout(loop, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Fires every deadline due now; returns how many fired. */
  async tick(): Promise<number> {
    const now = this.clock();
    const due: { order_id: string }[] = await this.dataSource.query(
      'SELECT order_id FROM saga_deadlines WHERE due_at <= $1 ORDER BY due_at LIMIT $2',
      [now.toISOString(), this.batchSize],
    );
    let fired = 0;
    for (const { order_id: orderId } of due) {
      await this.dataSource.transaction(async (manager) => {
        await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [orderId]);
        const rows: { step: SagaStep; attempt: number }[] = await manager.query(
          'SELECT step, attempt FROM saga_deadlines WHERE order_id = $1 AND due_at <= $2 FOR UPDATE SKIP LOCKED',
          [orderId, now.toISOString()],
        );
        const row = rows[0];
        if (!row) return;
        await this.processor.process(
          manager,
          orderId,
          {
            type: 'DeadlineFired',
            data: { step: row.step, attempt: row.attempt },
            now: now.toISOString(),
          },
          {},
        );
        fired++;
      });
    }
    return fired;
  }
}
