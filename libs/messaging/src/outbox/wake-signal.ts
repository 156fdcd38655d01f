/**
 * A latch a relay sleeps on between passes: set by a NOTIFY, a nudge(), a lost connection or
 * stop(). A signal that arrives while the relay is busy is remembered, so the relay runs one more
 * pass instead of sleeping through work that was announced mid-pass.
 */
export class WakeSignal {
  private pending = false;
  private wakeUp: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  /** Forgets signals that arrived so far: the pass about to start will see their rows anyway. */
  clear(): void {
    this.pending = false;
  }

  /** Resolves on the next signal (or one already pending), or after `timeoutMs`. */
  async wait(timeoutMs: number): Promise<void> {
    if (!this.pending) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.wakeUp = undefined;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        this.wakeUp = done;
      });
    }
    this.pending = false;
  }
}
