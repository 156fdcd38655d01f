import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { DuplicateEventError } from './errors';
import type { PostgresEventStore } from './postgres-event-store';
import { anEvent, barrier, nextId, openTestDatabase, type TestDatabase } from './test-support';
import { WrongExpectedVersionError, type AppendResult, type NewEvent } from './types';

describe('PostgresEventStore: appending to streams', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let store: PostgresEventStore;

  before(async () => {
    db = await openTestDatabase();
    dataSource = db.dataSource;
    store = db.store();
  });

  after(async () => {
    await db.close();
  });

  /** The stream row and events as the database has them, bypassing the store. */
  async function stored(streamId: string): Promise<{ version: number | undefined; ids: string[] }> {
    const streams: { version: number }[] = await dataSource.query(
      'SELECT version FROM event_store.streams WHERE stream_id = $1',
      [streamId],
    );
    const events: { event_id: string }[] = await dataSource.query(
      'SELECT event_id FROM event_store.events WHERE stream_id = $1 ORDER BY stream_version',
      [streamId],
    );
    return { version: streams[0]?.version, ids: events.map((e) => e.event_id) };
  }

  function ids(events: readonly NewEvent[]): string[] {
    return events.map((e) => e.metadata.messageId);
  }

  it('when events are appended to a new stream, then readStream returns them in order with data and metadata', async () => {
    const streamId = `order-${nextId()}`;
    const events = [
      anEvent(
        'OrderPlaced',
        { total: 30, lines: [{ sku: 'A', quantity: 2 }] },
        {
          metadata: {
            correlationId: 'corr-1',
            causationId: 'http-req-1',
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
            tracestate: 'vendor=value',
            actor: 'user:42',
          },
        },
      ),
      anEvent('OrderConfirmed', { at: '2026-11-22T10:00:00.000Z' }),
      anEvent('OrderShipped', { carrier: 'dhl' }),
    ];

    const result = await store.appendToStream(streamId, events, { expectedVersion: 'no_stream' });
    const read = await store.readStream(streamId);

    assert.equal(result.nextExpectedVersion, 3);
    assert.deepEqual(
      read.map((e) => [e.streamId, e.streamVersion, e.type, e.schemaVersion]),
      [
        [streamId, 1, 'OrderPlaced', 1],
        [streamId, 2, 'OrderConfirmed', 1],
        [streamId, 3, 'OrderShipped', 1],
      ],
    );
    assert.deepEqual(
      read.map((e) => e.data),
      events.map((e) => e.data),
    );
    assert.deepEqual(
      read.map((e) => e.metadata),
      events.map((e) => e.metadata),
    );
    assert.equal(read[0]?.metadata.traceparent, events[0]?.metadata.traceparent);
    for (const event of read) {
      assert.ok(event.recordedAt instanceof Date && !Number.isNaN(event.recordedAt.getTime()));
      // One transaction wrote all three: same commit, increasing positions.
      assert.equal(event.globalPosition.commit, result.lastPosition.commit);
    }
    const positions = read.map((e) => e.globalPosition.position);
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => (a < b ? -1 : 1)),
    );
    assert.deepEqual(read.at(-1)?.globalPosition, result.lastPosition);
    assert.deepEqual((await stored(streamId)).ids, ids(events));
    assert.deepEqual(
      (await store.readStream(streamId, { fromVersion: 2 })).map((e) => e.streamVersion),
      [2, 3],
    );
  });

  it("when 'no_stream' (or 0) is expected for an existing stream, then the append fails and changes nothing", async () => {
    const streamId = `order-${nextId()}`;
    const first = [anEvent('OrderPlaced', { n: 1 })];
    await store.appendToStream(streamId, first, { expectedVersion: 'no_stream' });

    for (const expectedVersion of ['no_stream', 0] as const) {
      await assert.rejects(
        store.appendToStream(streamId, [anEvent('OrderPlaced', { n: 2 })], { expectedVersion }),
        (error: unknown) =>
          error instanceof WrongExpectedVersionError &&
          error.streamId === streamId &&
          error.expected === expectedVersion &&
          error.actual === 1,
      );
    }
    assert.deepEqual(await stored(streamId), { version: 1, ids: ids(first) });
  });

  it('when the exact current version is expected, then the append succeeds; a stale or future version fails', async () => {
    const streamId = `order-${nextId()}`;
    const first = [anEvent('A', {}), anEvent('B', {})];
    const second = [anEvent('C', {})];
    await store.appendToStream(streamId, first, { expectedVersion: 0 });

    const result = await store.appendToStream(streamId, second, { expectedVersion: 2 });
    assert.equal(result.nextExpectedVersion, 3);

    for (const expectedVersion of [2, 4, 1]) {
      await assert.rejects(
        store.appendToStream(streamId, [anEvent('D', {})], { expectedVersion }),
        (error: unknown) => error instanceof WrongExpectedVersionError && error.actual === 3,
      );
    }
    await assert.rejects(
      store.appendToStream(`order-${nextId()}`, [anEvent('A', {})], { expectedVersion: 1 }),
      (error: unknown) => error instanceof WrongExpectedVersionError && error.actual === 0,
      'an exact version on a stream that does not exist fails too',
    );
    assert.deepEqual(await stored(streamId), { version: 3, ids: [...ids(first), ...ids(second)] });
  });

  it("when 'any' is expected, then the append creates or extends the stream without a check", async () => {
    const streamId = `order-${nextId()}`;
    const first = [anEvent('A', {})];
    const second = [anEvent('B', {}), anEvent('C', {})];

    const created = await store.appendToStream(streamId, first, { expectedVersion: 'any' });
    const extended = await store.appendToStream(streamId, second, { expectedVersion: 'any' });

    assert.equal(created.nextExpectedVersion, 1);
    assert.equal(extended.nextExpectedVersion, 3);
    assert.deepEqual(await stored(streamId), { version: 3, ids: [...ids(first), ...ids(second)] });
  });

  for (const setup of [
    { name: 'an existing stream at version 2', existing: 2, expectedVersion: 2 },
    {
      name: 'a stream that does not exist yet',
      existing: 0,
      expectedVersion: 'no_stream' as const,
    },
  ]) {
    it(`when 10 writers append concurrently to ${setup.name} at the same expected version, then exactly one wins and the stream holds only its events`, async () => {
      const streamId = `order-${nextId()}`;
      const initial = Array.from({ length: setup.existing }, (_, i) => anEvent('Initial', { i }));
      if (initial.length > 0) {
        await store.appendToStream(streamId, initial, { expectedVersion: 'no_stream' });
      }
      const contenders = 10;
      const batches = Array.from({ length: contenders }, (_, writer) => [
        anEvent('Written', { writer, part: 1 }),
        anEvent('Written', { writer, part: 2 }),
        anEvent('Written', { writer, part: 3 }),
      ]);
      const allStarted = barrier(contenders);

      const outcomes = await Promise.allSettled(
        batches.map((events) =>
          dataSource.transaction(async (manager) => {
            // Hold a connection and an open transaction before anyone appends.
            await manager.query('SELECT pg_current_xact_id()');
            await allStarted();
            return store.appendToStream(streamId, events, {
              expectedVersion: setup.expectedVersion,
              manager,
            });
          }),
        ),
      );

      const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      const losers = outcomes.flatMap((o) =>
        o.status === 'rejected' ? [o.reason as unknown] : [],
      );
      assert.equal(winners.length, 1, `exactly one winner, got ${winners.length}`);
      assert.equal(losers.length, contenders - 1);
      for (const error of losers) {
        assert.ok(error instanceof WrongExpectedVersionError, `loser failed with ${String(error)}`);
        assert.equal(error.actual, setup.existing + 3);
      }
      const winner = winners[0] ?? -1;
      const winnerEvents = batches[winner] ?? [];
      const won = outcomes[winner] as PromiseFulfilledResult<AppendResult>;
      assert.equal(won.value.nextExpectedVersion, setup.existing + 3);
      assert.deepEqual(await stored(streamId), {
        version: setup.existing + 3,
        ids: [...ids(initial), ...ids(winnerEvents)],
      });
    });
  }

  it("when the caller's transaction rolls back after appending, then no events remain and the stream version is unchanged", async () => {
    const existing = `order-${nextId()}`;
    const fresh = `order-${nextId()}`;
    const first = [anEvent('A', {})];
    await store.appendToStream(existing, first, { expectedVersion: 'no_stream' });

    await assert.rejects(
      dataSource.transaction(async (manager) => {
        await store.appendToStream(existing, [anEvent('B', {})], { expectedVersion: 1, manager });
        await store.appendToStream(fresh, [anEvent('A', {})], {
          expectedVersion: 'no_stream',
          manager,
        });
        // Inside the transaction the appends are visible...
        assert.equal((await store.readStream(existing, { manager })).length, 2);
        throw new Error('business rule failed after the append');
      }),
      /business rule failed/,
    );

    // ...and after the rollback nothing of them is left.
    assert.deepEqual(await stored(existing), { version: 1, ids: ids(first) });
    assert.deepEqual(await stored(fresh), { version: undefined, ids: [] });

    // The same with a QueryRunner the caller drives itself.
    const runner = dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      await store.appendToStream(existing, [anEvent('B', {})], {
        expectedVersion: 1,
        manager: runner.manager,
      });
      await runner.rollbackTransaction();
    } finally {
      await runner.release();
    }
    assert.deepEqual(await stored(existing), { version: 1, ids: ids(first) });
  });

  it("when the caller's transaction commits, then the append becomes visible only at commit", async () => {
    const streamId = `order-${nextId()}`;
    const events = [anEvent('A', {})];
    const runner = dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      await store.appendToStream(streamId, events, {
        expectedVersion: 'no_stream',
        manager: runner.manager,
      });
      assert.deepEqual(await store.readStream(streamId), [], 'not visible before commit');
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    assert.deepEqual(
      (await store.readStream(streamId)).map((e) => e.metadata.messageId),
      ids(events),
    );
  });

  it('when a manager without a transaction is given, then the append refuses instead of committing piecemeal', async () => {
    const streamId = `order-${nextId()}`;
    await assert.rejects(
      store.appendToStream(streamId, [anEvent('A', {})], {
        expectedVersion: 'no_stream',
        manager: dataSource.manager,
      }),
      TypeError,
    );
    assert.deepEqual(await stored(streamId), { version: undefined, ids: [] });
  });

  it('when an event id (messageId) is already stored, then the append fails with DuplicateEventError and writes nothing', async () => {
    const streamId = `order-${nextId()}`;
    const original = anEvent('A', {});
    await store.appendToStream(streamId, [original], { expectedVersion: 'no_stream' });

    await assert.rejects(
      store.appendToStream(streamId, [anEvent('B', {}), original], { expectedVersion: 'any' }),
      DuplicateEventError,
    );
    const other = `order-${nextId()}`;
    await assert.rejects(
      store.appendToStream(other, [original], { expectedVersion: 'no_stream' }),
      DuplicateEventError,
    );
    assert.deepEqual(await stored(streamId), { version: 1, ids: [original.metadata.messageId] });
    assert.deepEqual(await stored(other), { version: undefined, ids: [] });
  });

  it('when input is invalid, then the append fails with a clear error before touching the database', async () => {
    const streamId = `order-${nextId()}`;
    const bad: { events: NewEvent[]; expectedVersion: number | 'any'; error: RegExp }[] = [
      { events: [], expectedVersion: 'any', error: /no events/ },
      {
        events: [anEvent('A', {}, { metadata: { messageId: 'not-a-uuid' } })],
        expectedVersion: 'any',
        error: /must be a UUID/,
      },
      { events: [anEvent('A', {})], expectedVersion: -1, error: /expectedVersion/ },
      { events: [anEvent('A', undefined)], expectedVersion: 'any', error: /not JSON/ },
    ];
    for (const { events, expectedVersion, error } of bad) {
      await assert.rejects(store.appendToStream(streamId, events, { expectedVersion }), error);
    }
    assert.deepEqual(await stored(streamId), { version: undefined, ids: [] });
  });

  it('when something tries to update a recorded event, then the database refuses (append-only)', async () => {
    const streamId = `order-${nextId()}`;
    await store.appendToStream(streamId, [anEvent('A', { amount: 1 })], { expectedVersion: 'any' });
    await assert.rejects(
      dataSource.query(
        `UPDATE event_store.events SET data = '{"amount": 1000}' WHERE stream_id = $1`,
        [streamId],
      ),
      /append-only/,
    );
    assert.deepEqual(
      (await store.readStream(streamId)).map((e) => e.data),
      [{ amount: 1 }],
    );
  });
});
