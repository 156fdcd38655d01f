import assert from 'node:assert/strict';
import { replay, type Decider } from './decider';

/**
 * given / when / then for deciders:
 *
 *   spec.given([OrderPlaced]).when(ReserveStockFailed).then([OrderRejected]);
 *   spec.given([OrderRejected]).when(ConfirmOrder).thenThrows(DomainError, /already rejected/);
 *
 * `given` events are folded with evolve, `when` runs decide, `then` compares the produced events
 * (deep, strict equality). `thenState` checks the state after applying the produced events too.
 */
export class DeciderSpecification<Command, Event, State> {
  private constructor(private readonly decider: Decider<Command, Event, State>) {}

  static for<C, E, S>(decider: Decider<C, E, S>): DeciderSpecification<C, E, S> {
    return new DeciderSpecification(decider);
  }

  given(events: readonly Event[]): When<Command, Event, State> {
    return new When(this.decider, events);
  }
}

class When<Command, Event, State> {
  constructor(
    private readonly decider: Decider<Command, Event, State>,
    private readonly history: readonly Event[],
  ) {}

  when(command: Command): Then<Event, State> {
    const state = replay(this.decider, this.history);
    let outcome: { events: readonly Event[] } | { error: unknown };
    try {
      outcome = { events: this.decider.decide(command, state) };
    } catch (error) {
      outcome = { error };
    }
    return new Then(this.decider, state, outcome);
  }
}

class Then<Event, State> {
  constructor(
    private readonly decider: Decider<never, Event, State>,
    private readonly state: State,
    private readonly outcome: { events: readonly Event[] } | { error: unknown },
  ) {}

  private producedEvents(): readonly Event[] {
    if ('error' in this.outcome) {
      const error = this.outcome.error;
      assert.fail(
        `expected events, but decide threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      );
    }
    return this.outcome.events;
  }

  then(expected: readonly Event[]): this {
    assert.deepStrictEqual(this.producedEvents(), expected);
    return this;
  }

  /** No events: the command is accepted as a no-op (e.g. a duplicate). */
  thenNothing(): this {
    return this.then([]);
  }

  /** Checks the state after the produced events are applied. */
  thenState(check: (state: State) => void): this {
    check(replay(this.decider, this.producedEvents(), this.state));
    return this;
  }

  thenThrows(errorType: abstract new (...args: never[]) => Error, message?: RegExp): void {
    if (!('error' in this.outcome)) {
      assert.fail(
        `expected ${errorType.name}, but decide returned ${JSON.stringify(this.outcome.events)}`,
      );
    }
    assert.ok(
      this.outcome.error instanceof errorType,
      `expected ${errorType.name}, got ${String(this.outcome.error)}`,
    );
    if (message) assert.match(this.outcome.error.message, message);
  }
}
