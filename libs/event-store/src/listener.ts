import pg from 'pg';
import { APPENDS_CHANNEL } from './schema';

export interface AppendListenerOptions {
  /** Connection problems (the listener keeps retrying) and errors from onAppend; default: ignored. */
  readonly onError?: (error: unknown) => void;
  /** First reconnect delay; doubles per failed attempt up to `maxBackoffMs`. Default 100 ms. */
  readonly minBackoffMs?: number;
  /** Default 5000 ms. */
  readonly maxBackoffMs?: number;
  /**
   * A `SELECT 1` on the listening connection this often detects a connection that died without
   * a TCP reset (which would otherwise wait forever). Default 10000 ms; 0 disables it.
   */
  readonly heartbeatMs?: number;
}

export interface AppendListener {
  /** Stops listening and reconnecting; resolves once the connection is closed. */
  close(): Promise<void>;
}

/**
 * Calls `onAppend` after each committed append to the event store in the database at
 * `connectionString` (LISTEN on the trigger's channel), so readers can wake up without polling.
 *
 * Notifications are hints, not data: several appends may collapse into one call, and after a
 * reconnect `onAppend` is called once because notifications sent while disconnected are lost.
 * Readers still read from their checkpoint with `readAll` (and should poll slowly as a fallback).
 *
 * Resolves once listening; rejects if the first connection fails. After that, a dropped
 * connection (e.g. a Postgres restart) is re-established with exponential backoff until `close()`.
 */
export async function listenForAppends(
  connectionString: string,
  onAppend: () => void | Promise<void>,
  options: AppendListenerOptions = {},
): Promise<AppendListener> {
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const reportError = options.onError ?? (() => undefined);

  let closed = false;
  let client: pg.Client | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let attempt = 0;

  const notify = () => {
    try {
      // An async callback's failure goes to onError too, never to an unhandled rejection.
      Promise.resolve(onAppend()).catch(reportError);
    } catch (error) {
      reportError(error);
    }
  };

  const connect = async (): Promise<pg.Client> => {
    const next = new pg.Client({ connectionString, keepAlive: true });
    // Errors also arrive as events on an idle client; without a listener they would crash.
    next.on('error', (error) => {
      lost(next, error);
    });
    next.on('end', () => {
      lost(next, new Error('listen connection ended'));
    });
    next.on('notification', (message) => {
      if (message.channel === APPENDS_CHANNEL) notify();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${pg.escapeIdentifier(APPENDS_CHANNEL)}`);
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    return next;
  };

  const lost = (which: pg.Client, error: unknown) => {
    if (closed || which !== client) return;
    client = undefined;
    stopHeartbeat();
    reportError(error);
    which.end().catch(() => undefined);
    scheduleReconnect();
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    const delay = Math.min(maxBackoff, minBackoff * 2 ** attempt);
    attempt++;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().then(
        (next) => {
          if (closed) {
            next.end().catch(() => undefined);
            return;
          }
          attempt = 0;
          adopt(next);
          // Whatever was appended while the connection was down notified nobody.
          notify();
        },
        (error: unknown) => {
          reportError(error);
          scheduleReconnect();
        },
      );
    }, delay);
  };

  const adopt = (next: pg.Client) => {
    client = next;
    if (heartbeatMs > 0) {
      let pending = false;
      heartbeat = setInterval(() => {
        const current = client;
        if (!current) return;
        // A dead peer makes the query fail (keepAlive) or hang; a hung one is caught by the
        // next beat finding the previous one still pending.
        if (pending) {
          lost(current, new Error('listen connection heartbeat timed out'));
          return;
        }
        pending = true;
        current.query('SELECT 1').then(
          () => {
            pending = false;
          },
          (error: unknown) => {
            pending = false;
            lost(current, error);
          },
        );
      }, heartbeatMs);
      heartbeat.unref();
    }
  };

  const stopHeartbeat = () => {
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = undefined;
  };

  adopt(await connect());

  return {
    async close() {
      closed = true;
      stopHeartbeat();
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      const current = client;
      client = undefined;
      if (current) await current.end().catch(() => undefined);
    },
  };
}
