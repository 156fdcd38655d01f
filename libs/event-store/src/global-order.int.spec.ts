import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { DataSource, QueryRunner } from 'typeorm';
import type { PostgresEventStore } from './postgres-event-store';
import {
  anEvent,
  nextId,
  openTestDatabase,
  seededRandom,
  sleep,
  type TestDatabase,
} from './test-support';
import {
  comparePositions,
  formatPosition,
  START,
  WrongExpectedVersionError,
  type GlobalPosition,
  type RecordedEvent,
} from './types';

/**
 * A reader that checkpoints after every batch, and checks on every read that nothing comes
 * twice and that positions only move forward.
 */
class CheckpointedReader {
  checkpoint: GlobalPosition;
  readonly seen: RecordedEvent[] = [];
  private readonly ids = new Set<string>();

  constructor(
    private readonly store: PostgresEventStore,
    from: GlobalPosition,
    private readonly limit = 100,
  ) {
    this.checkpoint = from;
  }

  /** One readAll after the checkpoint; returns the message ids it read. */
  async read(): Promise<string[]> {
    const batch = await this.store.readAll({ after: this.checkpoint, limit: this.limit });
    for (const event of batch) {
      const id = event.metadata.messageId;
      assert.ok(!this.ids.has(id), `event ${id} was read twice`);
      assert.ok(
        comparePositions(event.globalPosition, this.checkpoint) > 0,
        `position ${formatPosition(event.globalPosition)} is not after the checkpoint ${formatPosition(this.checkpoint)}`,
      );
      this.ids.add(id);
      this.seen.push(event);
      this.checkpoint = event.globalPosition;
    }
    return batch.map((e) => e.metadata.messageId);
  }

  /**
   * Reads until `count` events came back (or 10 s passed), then once more to show nothing else
   * follows. Waiting instead of a single read keeps the test honest if some other transaction on
   * the cluster briefly holds readers back: that may delay events, never change which ones.
   */
  async readExactly(count: number): Promise<string[]> {
    const all: string[] = [];
    const deadline = Date.now() + 10_000;
    while (all.length < count && Date.now() < deadline) {
      const batch = await this.read();
      if (batch.length === 0) await sleep(5);
      all.push(...batch);
    }
    all.push(...(await this.read()));
    return all;
  }
}

describe('PostgresEventStore: the global read (readAll)', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let store: PostgresEventStore;
  const openRunners: QueryRunner[] = [];

  before(async () => {
    db = await openTestDatabase();
    dataSource = db.dataSource;
    store = db.store();
  });

  // A failed test must not leave a transaction open: it would hold back every later read.
  afterEach(async () => {
    for (const runner of openRunners.splice(0)) {
      if (!runner.isReleased) {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        await runner.release();
      }
    }
  });

  after(async () => {
    await db.close();
  });

  async function begin(): Promise<QueryRunner> {
    const runner = dataSource.createQueryRunner();
    openRunners.push(runner);
    await runner.startTransaction();
    return runner;
  }

  async function end(runner: QueryRunner, outcome: 'commit' | 'rollback'): Promise<void> {
    if (outcome === 'commit') await runner.commitTransaction();
    else await runner.rollbackTransaction();
    await runner.release();
  }

  /** Appends one event inside `runner`'s transaction (or its own); returns its message id. */
  async function appendOne(
    runner?: QueryRunner,
  ): Promise<{ id: string; position: GlobalPosition }> {
    const event = anEvent('Happened', {});
    const result = await store.appendToStream(`stream-${nextId()}`, [event], {
      expectedVersion: 'no_stream',
      ...(runner ? { manager: runner.manager } : {}),
    });
    return { id: event.metadata.messageId, position: result.lastPosition };
  }

  it('when nothing was appended yet, then readAll from START is empty and the head is START', async () => {
    const fresh = await openTestDatabase();
    try {
      const empty = fresh.store();
      assert.deepEqual(await empty.readAll({ after: START, limit: 10 }), []);
      assert.deepEqual(await empty.headPosition(), START);
    } finally {
      await fresh.close();
    }
  });

  it('when events commit in order, then readAll pages through them in (commit, position) order and headPosition is the last one', async () => {
    const reader = new CheckpointedReader(store, await store.headPosition(), 3);
    // One transaction whose positions pass 9 -> 10 (this is the first write to this database),
    // so ordering positions as text instead of numbers would show; then single appends.
    const batch = Array.from({ length: 12 }, (_, i) => anEvent('Batched', { i }));
    await store.appendToStream(`stream-${nextId()}`, batch, { expectedVersion: 'no_stream' });
    assert.ok((await store.headPosition()).position >= 10n);
    const appended = batch.map((e) => e.metadata.messageId);
    let last = START;
    for (let i = 0; i < 4; i++) {
      const one = await appendOne();
      appended.push(one.id);
      last = one.position;
    }

    assert.deepEqual(await reader.readExactly(appended.length), appended);
    assert.deepEqual(await store.headPosition(), last);
    assert.deepEqual(reader.checkpoint, last);
    assert.deepEqual(await store.readAll({ after: last, limit: 10 }), []);
  });

  it('when a transaction that wrote first commits last, then readAll holds back the later commit until it ends, and then returns both exactly once', async () => {
    const reader = new CheckpointedReader(store, await store.headPosition());
    const head = reader.checkpoint;

    const a = await begin();
    const inA = await appendOne(a); // A takes the lower xid and the lower sequence value
    const inB = await appendOne(); // B commits at once, with a higher xid and position
    assert.ok(inB.position.commit > inA.position.commit);
    assert.ok(inB.position.position > inA.position.position);

    // B is committed, but returning it now would let a checkpoint at B pass A's position: A's
    // transaction is still running, so everything from it on waits.
    assert.deepEqual(await reader.read(), []);
    assert.deepEqual(await store.headPosition(), head, 'the head does not move past A either');

    await end(a, 'commit');
    assert.deepEqual(await reader.readExactly(2), [inA.id, inB.id]);
  });

  it('when a transaction with the smaller sequence value commits after one with the larger, then the late one is still read after the checkpoint', async () => {
    const reader = new CheckpointedReader(store, await store.headPosition());

    const b = await begin();
    await b.query('SELECT pg_current_xact_id()'); // B gets the lower xid...
    const a = await begin();
    const inA = await appendOne(a); // ...A the lower sequence value
    const inB = await appendOne(b);
    assert.ok(inA.position.position < inB.position.position);
    assert.ok(inA.position.commit > inB.position.commit);
    await end(b, 'commit');

    // B's transaction is older than everything still running: safe to return.
    assert.deepEqual(await reader.readExactly(1), [inB.id]);
    const checkpoint = reader.checkpoint;
    assert.deepEqual(checkpoint, inB.position);

    await end(a, 'commit');
    // A position-only checkpoint (> inB.position) would skip A forever; the pair does not.
    assert.deepEqual(await reader.readExactly(1), [inA.id]);
    assert.ok(comparePositions(inA.position, checkpoint) > 0);
  });

  it('when a transaction that wrote first rolls back, then readAll returns what committed after it and never the rolled-back event', async () => {
    const reader = new CheckpointedReader(store, await store.headPosition());
    const a = await begin();
    const inA = await appendOne(a);
    const inB = await appendOne();
    assert.deepEqual(await reader.read(), []);

    await end(a, 'rollback');
    assert.deepEqual(await reader.readExactly(1), [inB.id]);
    assert.ok(!reader.seen.some((e) => e.metadata.messageId === inA.id));
  });

  it('when several writers commit in random order while a reader polls with checkpoints, then the reader sees every committed event exactly once and no rolled-back one', async (t) => {
    const seed = 20261122;
    const random = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => {
      const item = items[Math.floor(random() * items.length)];
      if (item === undefined) throw new Error('empty choice');
      return item;
    };
    const streams = Array.from({ length: 6 }, () => `stream-${nextId()}`);
    const writers = 8;
    const transactionsPerWriter = 25;
    // The plan is drawn up front from the seed, so the same seed gives the same workload.
    const plans = Array.from({ length: writers }, () =>
      Array.from({ length: transactionsPerWriter }, () => ({
        stream: pick(streams),
        events: 1 + Math.floor(random() * 3),
        takeXidEarly: random() < 0.4,
        holdBeforeMs: Math.floor(random() * 8),
        holdAfterMs: Math.floor(random() * 15),
        rollback: random() < 0.15,
      })),
    );

    const committed = new Set<string>();
    const rolledBack = new Set<string>();
    let conflicts = 0;

    const writer = async (plan: (typeof plans)[number]) => {
      for (const step of plan) {
        const runner = await begin();
        const events = Array.from({ length: step.events }, (_, i) => anEvent('Randomized', { i }));
        try {
          if (step.takeXidEarly) await runner.query('SELECT pg_current_xact_id()');
          await sleep(step.holdBeforeMs);
          const version = (await store.readStream(step.stream, { manager: runner.manager })).length;
          await store.appendToStream(step.stream, events, {
            expectedVersion: version,
            manager: runner.manager,
          });
          await sleep(step.holdAfterMs);
          if (step.rollback) {
            await end(runner, 'rollback');
            for (const e of events) rolledBack.add(e.metadata.messageId);
          } else {
            await end(runner, 'commit');
            for (const e of events) committed.add(e.metadata.messageId);
          }
        } catch (error) {
          if (!(error instanceof WrongExpectedVersionError)) throw error;
          conflicts++;
          await end(runner, 'rollback');
          for (const e of events) rolledBack.add(e.metadata.messageId);
        }
      }
    };

    const reader = new CheckpointedReader(store, await store.headPosition(), 5);
    const writing = { running: true };
    const reading = (async () => {
      while (writing.running) {
        if ((await reader.read()).length === 0) await sleep(1);
      }
    })();
    try {
      await Promise.all(plans.map(writer));
    } finally {
      writing.running = false;
      await reading;
    }
    await reader.readExactly(committed.size - reader.seen.length);

    const seenIds = reader.seen.map((e) => e.metadata.messageId);
    const missed = [...committed].filter((id) => !seenIds.includes(id));
    assert.deepEqual(
      missed,
      [],
      `seed ${seed}: the reader missed ${missed.length} committed events`,
    );
    assert.equal(seenIds.length, committed.size, `seed ${seed}: read count differs from committed`);
    assert.ok(!seenIds.some((id) => rolledBack.has(id)), 'a rolled-back event was read');
    assert.ok(committed.size > 100, `workload too small: ${committed.size} events committed`);
    assert.ok(conflicts > 0, 'the workload should include concurrency conflicts');
    assert.ok(rolledBack.size > 0);

    // The history really was out of order: some event was read after one with a larger sequence
    // value (a position-only reader would have been exposed to skipping it).
    let inversions = 0;
    let highest = 0n;
    for (const event of reader.seen) {
      if (event.globalPosition.position < highest) inversions++;
      else highest = event.globalPosition.position;
    }
    assert.ok(inversions > 0, 'the workload produced no commit-order inversions');
    t.diagnostic(
      `seed ${seed}: ${committed.size} committed, ${rolledBack.size} rolled back, ${conflicts} conflicts, ` +
        `${inversions} read after a larger sequence value`,
    );

    // Streams stay gap-free per stream too.
    for (const stream of streams) {
      const versions = (await store.readStream(stream)).map((e) => e.streamVersion);
      assert.deepEqual(
        versions,
        versions.map((_, i) => i + 1),
      );
    }
  });
});
