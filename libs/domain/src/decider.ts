/**
 * The decider shape for aggregates and sagas: pure functions over plain data.
 *
 * - `initialState()` is the state before any event.
 * - `evolve(state, event)` folds one event into the state; it never fails and never decides.
 * - `decide(command, state)` returns the events a command causes, or throws a DomainError.
 *
 * Time and ids arrive inside commands (their metadata), never from `new Date()` or a random
 * generator here, so the same inputs always give the same events.
 */
export interface Decider<Command, Event, State> {
  readonly initialState: () => State;
  readonly evolve: (state: State, event: Event) => State;
  readonly decide: (command: Command, state: State) => readonly Event[];
}

/** Folds events into a state, from `initial` or the decider's initial state. */
export function replay<Command, Event, State>(
  decider: Decider<Command, Event, State>,
  events: Iterable<NoInfer<Event>>,
  initial: NoInfer<State> = decider.initialState(),
): State {
  let state = initial;
  for (const event of events) state = decider.evolve(state, event);
  return state;
}

/**
 * An expected business outcome that refuses a command (out of stock, order already confirmed).
 * The edge maps `code` to a protocol status in one place; domain code only throws.
 */
export class DomainError extends Error {
  override readonly name: string = 'DomainError';

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Compile-time exhaustiveness for switches over union types: `default: return assertNever(x)`. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
