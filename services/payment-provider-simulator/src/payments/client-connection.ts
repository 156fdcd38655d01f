import type { Departure } from '../faults/fault-injector';

/** What the payment use cases may do to the HTTP exchange, without knowing HTTP types. */
export interface ClientConnection extends Departure {
  setHeader(name: string, value: string): void;
  /** Resets the connection (TCP RST) instead of answering. */
  drop(): void;
  /** Names a fault applied to this request, for the request log. */
  note(fault: string): void;
}
