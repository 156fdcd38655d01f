import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listenForAppends, type AppendListener } from './listener';
import type { PostgresEventStore } from './postgres-event-store';
import {
  anEvent,
  eventually,
  nextId,
  openTestDatabase,
  sleep,
  type TestDatabase,
} from './test-support';

describe('listenForAppends', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const listeners: AppendListener[] = [];

  before(async () => {
    db = await openTestDatabase();
    store = db.store();
  });

  after(async () => {
    for (const listener of listeners) await listener.close();
    await db.stack.postgres.start();
    await db.close();
  });

  async function listen(options: Parameters<typeof listenForAppends>[2] = {}) {
    const state = { notified: 0, errors: [] as unknown[] };
    const listener = await listenForAppends(
      db.url,
      () => {
        state.notified++;
      },
      { ...options, onError: (error) => state.errors.push(error) },
    );
    listeners.push(listener);
    return { state, listener };
  }

  it('when an append commits, then the listener is notified; a rolled-back append notifies nobody', async () => {
    const { state } = await listen();

    const runner = db.dataSource.createQueryRunner();
    await runner.startTransaction();
    await store.appendToStream(`order-${nextId()}`, [anEvent('A', {})], {
      expectedVersion: 'no_stream',
      manager: runner.manager,
    });
    await sleep(200);
    assert.equal(state.notified, 0, 'nothing before commit');
    await runner.rollbackTransaction();
    await runner.release();
    await sleep(300);
    assert.equal(state.notified, 0, 'nothing for a rollback');

    await store.appendToStream(`order-${nextId()}`, [anEvent('A', {}), anEvent('B', {})], {
      expectedVersion: 'no_stream',
    });
    await eventually('a notification after the commit', () => state.notified >= 1, 5000);
    await sleep(200);
    assert.equal(state.notified, 1, 'one notification per appending transaction');
  });

  it('when the listener is closed, then it is not notified any more', async () => {
    const { state, listener } = await listen();
    await listener.close();
    await store.appendToStream(`order-${nextId()}`, [anEvent('A', {})], { expectedVersion: 'any' });
    await sleep(300);
    assert.equal(state.notified, 0);
  });

  it('when Postgres is killed and restarted, then the listener reconnects, signals a catch-up and is notified of new appends', async () => {
    const { state } = await listen({ minBackoffMs: 50, maxBackoffMs: 500, heartbeatMs: 1000 });

    await db.stack.postgres.kill();
    await eventually(
      'the listener to notice the lost connection',
      () => state.errors.length > 0,
      10_000,
    );
    await db.stack.postgres.start();
    // After reconnecting it signals once: appends while it was away notified nobody.
    await eventually('the catch-up signal after reconnecting', () => state.notified >= 1, 30_000);

    const notifiedBefore = state.notified;
    await eventually(
      'an append to succeed on the restarted server',
      async () =>
        store
          .appendToStream(`order-${nextId()}`, [anEvent('A', {})], { expectedVersion: 'any' })
          .then(
            () => true,
            () => false,
          ),
      30_000,
    );
    await eventually(
      'a notification after the restart',
      () => state.notified > notifiedBefore,
      5000,
    );
  });
});
