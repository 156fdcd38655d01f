import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PostgresEventStore, StreamFold } from './postgres-event-store';
import { anEvent, nextId, openTestDatabase, seededRandom, type TestDatabase } from './test-support';
import type { RecordedEvent } from './types';

type AccountEvent =
  | RecordedEvent<'Deposited', { amount: number }>
  | RecordedEvent<'Withdrawn', { amount: number }>
  | RecordedEvent<'Renamed', { name: string }>;

interface Account {
  name: string;
  balance: number;
  /** Order-sensitive: a fold that skipped, repeated or reordered an event changes it. */
  checksum: number;
  lastVersions: number[];
}

describe('PostgresEventStore: aggregateStream and snapshots', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  before(async () => {
    db = await openTestDatabase();
    store = db.store();
  });

  after(async () => {
    await db.close();
  });

  /** The fold, counting how many events it was given. */
  function accountFold(): StreamFold<Account, AccountEvent> & { folded: number } {
    const fold = {
      folded: 0,
      initialState: (): Account => ({ name: '', balance: 0, checksum: 7, lastVersions: [] }),
      evolve: (state: Account, event: AccountEvent): Account => {
        fold.folded++;
        const checksum = (state.checksum * 31 + event.streamVersion) % 1_000_000_007;
        const lastVersions = [...state.lastVersions, event.streamVersion].slice(-3);
        switch (event.type) {
          case 'Deposited':
            return { ...state, balance: state.balance + event.data.amount, checksum, lastVersions };
          case 'Withdrawn':
            return { ...state, balance: state.balance - event.data.amount, checksum, lastVersions };
          case 'Renamed':
            return { ...state, name: event.data.name, checksum, lastVersions };
        }
      },
    };
    return fold;
  }

  async function appendRandom(streamId: string, count: number, from: number, random: () => number) {
    const events = Array.from({ length: count }, (_, i) => {
      const roll = random();
      if (roll < 0.1) return anEvent('Renamed', { name: `name-${from + i}` });
      const amount = 1 + Math.floor(random() * 100);
      return anEvent(roll < 0.6 ? 'Deposited' : 'Withdrawn', { amount });
    });
    await store.appendToStream(streamId, events, { expectedVersion: from });
  }

  async function storedSnapshot(streamId: string, type: string) {
    const rows: { stream_version: number; schema_version: number }[] = await db.dataSource.query(
      'SELECT stream_version, schema_version FROM event_store.snapshots WHERE stream_id = $1 AND snapshot_type = $2',
      [streamId, type],
    );
    return rows[0];
  }

  it('when a long stream is folded with a snapshot every 50 events, then snapshot plus tail equals a full replay', async () => {
    const random = seededRandom(250);
    const streamId = `account-${nextId()}`;
    const snapshot = { type: 'account', every: 50 };
    await appendRandom(streamId, 120, 0, random);

    const first = accountFold();
    const initial = await store.aggregateStream(streamId, first, { snapshot });
    assert.equal(first.folded, 120, 'no snapshot yet: a full fold');
    assert.deepEqual(await storedSnapshot(streamId, 'account'), {
      stream_version: 120,
      schema_version: 1,
    });

    await appendRandom(streamId, 130, 120, random);
    const fromSnapshot = accountFold();
    const withSnapshot = await store.aggregateStream(streamId, fromSnapshot, { snapshot });
    const full = await store.aggregateStream(streamId, accountFold());

    assert.equal(fromSnapshot.folded, 130, 'only the events after the snapshot were folded');
    assert.equal(withSnapshot.version, 250);
    assert.deepEqual(withSnapshot, full);
    assert.notDeepEqual(initial.state, full.state);
    assert.deepEqual(await storedSnapshot(streamId, 'account'), {
      stream_version: 250,
      schema_version: 1,
    });

    // Fewer than `every` new events: folded from the snapshot, no new snapshot written.
    await appendRandom(streamId, 10, 250, random);
    const tail = accountFold();
    const latest = await store.aggregateStream(streamId, tail, { snapshot });
    assert.equal(tail.folded, 10);
    assert.deepEqual(latest, await store.aggregateStream(streamId, accountFold()));
    assert.deepEqual(await storedSnapshot(streamId, 'account'), {
      stream_version: 250,
      schema_version: 1,
    });
  });

  it('when the stored snapshot has another schema version, then it is ignored and rebuilt from the events', async () => {
    const random = seededRandom(51);
    const streamId = `account-${nextId()}`;
    await appendRandom(streamId, 60, 0, random);
    await store.aggregateStream(streamId, accountFold(), {
      snapshot: { type: 'account', every: 50 },
    });
    // Make the stale snapshot visibly wrong, so using it could not go unnoticed.
    await db.dataSource.query(
      `UPDATE event_store.snapshots SET state = '{"name":"stale","balance":-1,"checksum":0,"lastVersions":[]}'
        WHERE stream_id = $1`,
      [streamId],
    );

    const fold = accountFold();
    const rebuilt = await store.aggregateStream(streamId, fold, {
      snapshot: { type: 'account', every: 50, schemaVersion: 2 },
    });
    assert.equal(fold.folded, 60, 'the stale snapshot was not used');
    assert.deepEqual(rebuilt, await store.aggregateStream(streamId, accountFold()));
    assert.deepEqual(await storedSnapshot(streamId, 'account'), {
      stream_version: 60,
      schema_version: 2,
    });

    // From now on the rebuilt snapshot (schema version 2) is the one used.
    const reused = accountFold();
    const again = await store.aggregateStream(streamId, reused, {
      snapshot: { type: 'account', every: 50, schemaVersion: 2 },
    });
    assert.equal(reused.folded, 0);
    assert.deepEqual(again, rebuilt);
  });

  it('when a stream has no events, then aggregateStream returns the initial state at version 0', async () => {
    const result = await store.aggregateStream(`account-${nextId()}`, accountFold(), {
      snapshot: { type: 'account', every: 1 },
    });
    assert.deepEqual(result, { state: accountFold().initialState(), version: 0 });
  });
});
