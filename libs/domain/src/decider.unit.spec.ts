import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNever, DomainError, replay, type Decider } from './index';
import { DeciderSpecification } from './testing';

// A tiny counter aggregate, enough to exercise the helpers.
type Command = { type: 'Add'; amount: number } | { type: 'Close' };
type Event = { type: 'Added'; amount: number } | { type: 'Closed' };
type State = { status: 'Open'; total: number } | { status: 'Closed'; total: number };

class CounterClosed extends DomainError {
  constructor() {
    super('counter-closed', 'counter is already closed');
  }
}

const counter: Decider<Command, Event, State> = {
  initialState: () => ({ status: 'Open', total: 0 }),
  evolve: (state, event) => {
    switch (event.type) {
      case 'Added':
        return { ...state, total: state.total + event.amount };
      case 'Closed':
        return { status: 'Closed', total: state.total };
      default:
        return assertNever(event);
    }
  },
  decide: (command, state) => {
    if (state.status === 'Closed') throw new CounterClosed();
    switch (command.type) {
      case 'Add':
        return command.amount === 0 ? [] : [{ type: 'Added', amount: command.amount }];
      case 'Close':
        return [{ type: 'Closed' }];
      default:
        return assertNever(command);
    }
  },
};

const spec = DeciderSpecification.for(counter);

describe('DeciderSpecification', () => {
  it('when a command decides events, then then() compares them', () => {
    spec
      .given([{ type: 'Added', amount: 2 }])
      .when({ type: 'Add', amount: 3 })
      .then([{ type: 'Added', amount: 3 }])
      .thenState((state) => {
        assert.equal(state.total, 5);
      });
  });

  it('when a command is a no-op, then thenNothing() passes', () => {
    spec.given([]).when({ type: 'Add', amount: 0 }).thenNothing();
  });

  it('when decide throws, then thenThrows() checks type and message', () => {
    spec
      .given([{ type: 'Closed' }])
      .when({ type: 'Add', amount: 1 })
      .thenThrows(CounterClosed, /already closed/);
  });

  it('when the expectation is wrong, then the specification fails', () => {
    assert.throws(() =>
      spec
        .given([])
        .when({ type: 'Add', amount: 1 })
        .then([{ type: 'Added', amount: 2 }]),
    );
    assert.throws(() => {
      spec.given([]).when({ type: 'Close' }).thenThrows(CounterClosed);
    });
    assert.throws(() =>
      spec
        .given([{ type: 'Closed' }])
        .when({ type: 'Close' })
        .then([]),
    );
  });

  it('when events are replayed, then the state is their fold', () => {
    assert.deepEqual(
      replay(counter, [
        { type: 'Added', amount: 1 },
        { type: 'Added', amount: 4 },
        { type: 'Closed' },
      ]),
      {
        status: 'Closed',
        total: 5,
      },
    );
  });
});
