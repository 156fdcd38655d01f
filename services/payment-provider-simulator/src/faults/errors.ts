/**
 * A failure the simulator produces on purpose (a knob, a released hang, shutdown). It always means
 * "nothing was done": the request had no effect and may be retried.
 */
export class SimulatedFailure extends Error {
  override readonly name: string = 'SimulatedFailure';

  constructor(
    readonly status: 500 | 503,
    readonly code: 'injected-failure' | 'hang-released' | 'shutting-down',
    message: string,
  ) {
    super(message);
  }
}

export class InjectedFailure extends SimulatedFailure {
  constructor(status: 500 | 503, cause: string) {
    super(status, 'injected-failure', `injected failure (${cause}); the request had no effect`);
  }
}

export class HangReleased extends SimulatedFailure {
  constructor() {
    super(503, 'hang-released', 'the hang knob was cleared; the request had no effect');
  }
}

export class SimulatorShuttingDown extends SimulatedFailure {
  constructor() {
    super(503, 'shutting-down', 'the simulator is shutting down; the request had no effect');
  }
}
