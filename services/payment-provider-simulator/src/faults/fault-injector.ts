import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Behaviour } from './behaviour';
import { SimulatorShuttingDown } from './errors';
import { FaultKnobs } from './fault-knobs';

/** The part of a client connection the faults need: notice when the client goes away. */
export interface Departure {
  /** Calls `listener` once if the client disconnects before an answer; returns an unsubscribe. */
  onGone(listener: () => void): () => void;
}

export type HangEnd = 'released' | 'client-gone' | 'shutdown';

export interface InFlight {
  /** Requests in latency: waiting before their effect. */
  delaying: number;
  hanging: number;
  /** Requests whose effect is done and whose answer is being held back. */
  holdingReply: number;
}

/**
 * The knobs plus the waiting they cause: latency sleeps, hung requests and held replies. Nothing
 * waits forever without an owner: a hung request ends when its client disconnects, when the hang
 * knob is cleared, or at shutdown; sleeps end early at shutdown (and held replies when the client
 * disconnects).
 */
export class FaultInjector {
  readonly knobs = new FaultKnobs(() => randomInt(0x1_0000_0000));
  private readonly hanging = new Set<(end: HangEnd) => void>();
  private readonly stopping = new AbortController();
  private delaying = 0;
  private holdingReply = 0;

  behaviour(): Behaviour {
    return this.knobs.current();
  }

  /** Takes effect for the next request; hung requests are released when the hang knob goes. */
  replace(behaviour: Behaviour): void {
    this.knobs.replace(behaviour);
    if (behaviour.hang === undefined) this.releaseHanging();
  }

  inFlight(): InFlight {
    return { delaying: this.delaying, hanging: this.hanging.size, holdingReply: this.holdingReply };
  }

  /** Waits before the effect; the effect then happens even if the client gave up meanwhile. */
  async delay(ms: number): Promise<void> {
    if (ms <= 0) return;
    this.delaying += 1;
    try {
      if (!(await pause(ms, this.stopping.signal))) throw new SimulatorShuttingDown();
    } finally {
      this.delaying -= 1;
    }
  }

  hang(client: Departure): Promise<HangEnd> {
    if (this.stopping.signal.aborted) return Promise.resolve('shutdown');
    return new Promise((resolve) => {
      // onGone may call back at once (client already gone), before it returns its unsubscribe.
      const subscription = { unsubscribe: (): void => undefined };
      const end = (how: HangEnd): void => {
        if (!this.hanging.delete(end)) return;
        subscription.unsubscribe();
        resolve(how);
      };
      this.hanging.add(end);
      subscription.unsubscribe = client.onGone(() => {
        end('client-gone');
      });
      if (!this.hanging.has(end)) subscription.unsubscribe();
    });
  }

  /** Holds a reply back; ends early if the client disconnects or the simulator stops. */
  async holdReply(ms: number, client: Departure): Promise<void> {
    if (ms <= 0) return;
    const gone = new AbortController();
    const unsubscribe = client.onGone(() => {
      gone.abort();
    });
    this.holdingReply += 1;
    try {
      await pause(ms, AbortSignal.any([gone.signal, this.stopping.signal]));
    } finally {
      this.holdingReply -= 1;
      unsubscribe();
    }
  }

  /**
   * Ends all waiting: sleeps stop, hung requests are released (503 shutting-down), held replies go
   * out now. Called on application shutdown; resolves once those requests had a turn to answer,
   * before the server closes their sockets.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.releaseHanging('shutdown');
    await new Promise((resolve) => setImmediate(resolve));
  }

  private releaseHanging(how: HangEnd = 'released'): void {
    for (const end of [...this.hanging]) end(how);
  }
}

/** Sleeps `ms`; false when the signal aborted the sleep first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}
