import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OutgoingMessage } from '../envelope';
import { PermanentPublishError, type MessagePublisher } from '../publisher';
import { publishIsolatingRejects } from './publish-batch';

function message(id: string, size = 1): OutgoingMessage {
  return {
    topic: 't',
    envelope: {
      id,
      type: 'T',
      schemaVersion: 1,
      source: 's',
      time: '2026-01-01T00:00:00.000Z',
      key: 'k',
      correlationId: 'c',
      payload: { size },
    },
  };
}

/** A broker stand-in: refuses any call that contains a message of size > 1, like Kafka does. */
class FakeBroker implements MessagePublisher {
  readonly log: string[] = [];
  readonly calls: string[][] = [];
  /** The broker goes down from this call on (1-based). */
  downFromCall = Number.POSITIVE_INFINITY;

  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    const ids = messages.map((m) => m.envelope.id);
    this.calls.push(ids);
    if (this.calls.length >= this.downFromCall) {
      return Promise.reject(new Error('broker unavailable'));
    }
    if (messages.some((m) => (m.envelope.payload as { size: number }).size > 1)) {
      // Names every id of the batch, as a client that cannot tell the culprit would.
      return Promise.reject(new PermanentPublishError('too large', ids, 'MESSAGE_TOO_LARGE'));
    }
    this.log.push(...ids);
    return Promise.resolve();
  }
}

describe('publishIsolatingRejects', () => {
  it('when the batch is accepted, then everything is published in one call', async () => {
    const broker = new FakeBroker();
    const outcome = await publishIsolatingRejects(
      broker,
      ['a', 'b', 'c'].map((id) => message(id)),
      1000,
    );
    assert.deepEqual(
      outcome.published.map((m) => m.envelope.id),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(outcome.rejected, []);
    assert.equal(broker.calls.length, 1);
  });

  it('when one message is refused, then only it is rejected and the others go out in order', async () => {
    const broker = new FakeBroker();
    const batch = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => message(id, id === 'e' ? 2 : 1));
    const outcome = await publishIsolatingRejects(broker, batch, 1000);
    assert.deepEqual(broker.log, ['a', 'b', 'c', 'd', 'f', 'g'], 'broker order');
    assert.deepEqual(
      outcome.published.map((m) => m.envelope.id),
      ['a', 'b', 'c', 'd', 'f', 'g'],
    );
    assert.deepEqual(
      outcome.rejected.map((r) => [r.message.envelope.id, r.reason]),
      [['e', 'MESSAGE_TOO_LARGE']],
    );
    assert.equal(outcome.retryableError, undefined);
  });

  it('when a retryable failure interrupts the isolation, then it stops there and reports it', async () => {
    const broker = new FakeBroker();
    // Calls: a-g (refused), a-d (refused), a-b (refused), a, b (refused), c-d, then e-g: down.
    broker.downFromCall = 7;
    const batch = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => message(id, id === 'b' ? 2 : 1));
    const outcome = await publishIsolatingRejects(broker, batch, 1000);
    assert.deepEqual(
      outcome.published.map((m) => m.envelope.id),
      ['a', 'c', 'd'],
    );
    assert.deepEqual(
      outcome.rejected.map((r) => r.message.envelope.id),
      ['b'],
    );
    assert.match(String(outcome.retryableError), /broker unavailable/);
    assert.ok(!broker.log.includes('g'), 'nothing after the failure is attempted');
  });

  it('when the publisher never answers, then the call times out as retryable', async () => {
    const hanging: MessagePublisher = { publish: () => new Promise(() => undefined) };
    const outcome = await publishIsolatingRejects(hanging, [message('a')], 50);
    assert.deepEqual(outcome.published, []);
    assert.match(String(outcome.retryableError), /took over 50 ms/);
  });
});
