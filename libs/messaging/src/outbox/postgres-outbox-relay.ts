import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { OutgoingMessage } from '../envelope';
import { noopMessagingMetrics, type MessagingMetrics } from '../metrics';
import { sleep } from '../backoff';
import { jsonLogger, type MessagingLogger } from '../logger';
import type { MessagePublisher } from '../publisher';
import { OUTBOX_BACKLOG_SQL } from './postgres-outbox';
import { OUTBOX_CHANNEL, OUTBOX_TABLE } from './postgres-outbox-schema';
import { publishIsolatingRejects } from './publish-batch';
import { envelopeFrom, MalformedOutboxMessageError } from './stored-message';
import { RelayBackoff, type RelayBackoffOptions } from './relay-backoff';
import { WakeSignal } from './wake-signal';

/** What a relay instance is doing right now. */
export type RelayRole = 'stopped' | 'connecting' | 'standby' | 'leader';

/** Fault-injection seams for tests; leave unset in services. */
export interface OutboxRelayTestHooks {
  /** Runs after the broker acknowledged messages and before they are marked published. */
  readonly afterBrokerAck?: (messageIds: readonly string[]) => void | Promise<void>;
}

export interface PostgresOutboxRelayOptions {
  /** Connection string or settings of the service's database. The relay opens its own session. */
  readonly connection: string | pg.ClientConfig;
  readonly publisher: MessagePublisher;
  readonly metrics?: MessagingMetrics;
  /** Label for metrics, e.g. the service name. Default `postgres-outbox`. */
  readonly storeName?: string;
  /** Rows per pass (and per publish call). Default 200. */
  readonly batchSize?: number;
  /** Safety-net poll when no NOTIFY arrives (NOTIFY is the normal wake-up). Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** How often a standby instance tries to take over the leader's lock. Default 1000 ms. */
  readonly standbyRetryMs?: number;
  /** Session advisory lock that elects the one publishing instance (per database). */
  readonly lockKey?: bigint;
  /** Backoff while the broker refuses or fails a batch. Default 100 ms doubling to 10 s. */
  readonly publishBackoff?: RelayBackoffOptions;
  /** Backoff while the database is unreachable. Default 200 ms doubling to 10 s. */
  readonly reconnectBackoff?: RelayBackoffOptions;
  /** Upper bound for one publish call; after it the batch is retried. Default 60 s. */
  readonly publishTimeoutMs?: number;
  /** How long published rows are kept before they are purged. Default 1 hour. */
  readonly publishedRetentionMs?: number;
  /** How often the leader purges expired published rows. Default 60 s. */
  readonly purgeIntervalMs?: number;
  /** Minimum time between two backlog metric reports. Default 1000 ms. */
  readonly backlogReportIntervalMs?: number;
  readonly logger?: MessagingLogger;
  readonly testHooks?: OutboxRelayTestHooks;
}

/** "outbox" in ASCII: the default advisory lock key. */
export const DEFAULT_OUTBOX_LOCK_KEY = 0x6f7574626f78n;

interface PendingRow {
  readonly position: string;
  readonly message_id: string;
  readonly topic: string;
  readonly headers: unknown;
  readonly payload: unknown;
}

interface Session {
  readonly client: pg.Client;
  /** Set once the connection failed or closed: the session (and with it the lock) is gone. */
  lost: unknown;
  leader: boolean;
  /** Did real work (a pass, or a lock attempt as standby): the backoff starts over after it. */
  healthy: boolean;
}

interface PassOutcome {
  readonly read: number;
  readonly retryableError?: unknown;
}

class SessionLostError extends Error {
  override readonly name = 'SessionLostError';
}

/**
 * Publishes the Postgres outbox through a MessagePublisher, in order per key.
 *
 * - Order: rows are read in (transaction_id, position) order, and only from transactions older
 *   than the oldest one still running, so a transaction that commits late can never have its
 *   messages overtaken by later ones (docs/adr/0002).
 * - One publisher: only the holder of a session-level advisory lock publishes. Other instances
 *   stand by on their own sessions and take over when the leader's session ends (crash, lost
 *   connection, stop()). Parallel SKIP LOCKED relays would break per-key order.
 * - Latency: the leader LISTENs on the channel the insert trigger NOTIFYs; polling every
 *   `pollIntervalMs` is only the safety net.
 * - At-least-once: rows are marked published only after the broker acknowledged them. A crash
 *   in between republishes them: consumers dedupe by message id.
 * - A message the broker refuses on its own (PermanentPublishError) is parked with the reason;
 *   the rest keeps flowing. Any other failure keeps the rows and retries with jittered backoff.
 */
export class PostgresOutboxRelay {
  private readonly clientConfig: pg.ClientConfig;
  private readonly metrics: MessagingMetrics;
  private readonly storeName: string;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly standbyRetryMs: number;
  private readonly lockKey: string;
  private readonly publishBackoff: RelayBackoffOptions;
  private readonly reconnectBackoff: RelayBackoffOptions;
  private readonly publishTimeoutMs: number;
  private readonly publishedRetentionMs: number;
  private readonly purgeIntervalMs: number;
  private readonly backlogReportIntervalMs: number;
  private readonly logger: MessagingLogger;

  private readonly wake = new WakeSignal();
  private abort = new AbortController();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private session: Session | undefined;
  private roleNow: RelayRole = 'stopped';
  private lastBacklogReport = 0;
  private lastPurge = 0;

  constructor(private readonly options: PostgresOutboxRelayOptions) {
    const given =
      typeof options.connection === 'string'
        ? { connectionString: options.connection }
        : options.connection;
    this.clientConfig = {
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
      // A query that never answers (half-open TCP) must not freeze the relay: it fails, and the
      // session is replaced.
      query_timeout: 30_000,
      application_name: 'platform-outbox-relay',
      ...given,
    };
    this.metrics = options.metrics ?? noopMessagingMetrics;
    this.storeName = options.storeName ?? 'postgres-outbox';
    this.batchSize = positive('batchSize', options.batchSize ?? 200);
    this.pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 1_000);
    this.standbyRetryMs = positive('standbyRetryMs', options.standbyRetryMs ?? 1_000);
    this.lockKey = String(options.lockKey ?? DEFAULT_OUTBOX_LOCK_KEY);
    this.publishBackoff = options.publishBackoff ?? { initialDelayMs: 100, maxDelayMs: 10_000 };
    this.reconnectBackoff = options.reconnectBackoff ?? { initialDelayMs: 200, maxDelayMs: 10_000 };
    this.publishTimeoutMs = positive('publishTimeoutMs', options.publishTimeoutMs ?? 60_000);
    this.publishedRetentionMs = options.publishedRetentionMs ?? 3_600_000;
    this.purgeIntervalMs = positive('purgeIntervalMs', options.purgeIntervalMs ?? 60_000);
    this.backlogReportIntervalMs = options.backlogReportIntervalMs ?? 1_000;
    this.logger = options.logger ?? jsonLogger('info', 'outbox-relay');
  }

  get role(): RelayRole {
    return this.roleNow;
  }

  get isLeader(): boolean {
    return this.roleNow === 'leader';
  }

  /** Starts connecting, electing and publishing in the background. */
  start(): void {
    if (this.loop) throw new Error('PostgresOutboxRelay is already started');
    this.stopping = false;
    this.abort = new AbortController();
    this.roleNow = 'connecting';
    this.loop = this.run().finally(() => {
      this.roleNow = 'stopped';
    });
  }

  /**
   * Graceful stop: the batch in flight is published and marked, then the lock is released (a
   * standby takes over at once) and the session closed. After `timeoutMs` the session is closed
   * under the batch; its rows stay pending and are published again (duplicates, not losses).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.stopping = true;
    this.abort.abort();
    this.wake.notify();
    const finished = await Promise.race([
      loop.then(() => true),
      delay(timeoutMs, false, { ref: false }),
    ]);
    if (!finished) {
      this.logger.warn('outbox relay: stop timed out; closing the session under the batch', {
        timeoutMs,
      });
      const session = this.session;
      if (session) await endQuietly(session.client);
      await loop;
    }
    this.loop = undefined;
  }

  /** Runs a pass now instead of at the next NOTIFY or poll. */
  nudge(): void {
    this.wake.notify();
  }

  /**
   * Resolves once no committed message is pending (whichever instance leads), e.g. before a
   * graceful shutdown or in tests. Parked messages do not count. Rejects after `timeoutMs`.
   */
  async drain(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let pending: number | undefined;
    let lastError: unknown;
    while (Date.now() < deadline) {
      const client = new pg.Client({
        ...this.clientConfig,
        application_name: 'platform-outbox-drain',
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        while (Date.now() < deadline) {
          const { rows } = await client.query<{ pending: number }>(
            `SELECT count(*)::float8 AS pending FROM ${OUTBOX_TABLE} WHERE status = 'pending'`,
          );
          pending = rows[0]?.pending ?? 0;
          if (pending === 0) return;
          this.wake.notify();
          await delay(50);
        }
      } catch (error) {
        lastError = error;
        await delay(200);
      } finally {
        await endQuietly(client);
      }
    }
    throw new Error(
      `outbox: ${pending === undefined ? 'an unknown number of' : String(pending)} message(s) still pending after ${timeoutMs} ms` +
        (lastError instanceof Error ? ` (last error: ${lastError.message})` : ''),
    );
  }

  private async run(): Promise<void> {
    const reconnect = new RelayBackoff(this.reconnectBackoff);
    while (!this.stopping) {
      let session: Session | undefined;
      try {
        this.roleNow = 'connecting';
        session = await this.openSession();
        if (await this.becomeLeader(session)) await this.lead(session);
      } catch (error) {
        if (this.abort.signal.aborted) break; // stopping: the failure is the session we closed
        // Only a session that worked for a while resets the backoff: one that fails right after
        // connecting (a missing table, say) must not retry in a tight loop.
        if (session?.healthy === true) reconnect.reset();
        const delayMs = reconnect.next();
        this.logger.warn('outbox relay: database session failed; reconnecting', {
          error,
          attempt: reconnect.attempts,
          delayMs,
        });
        this.roleNow = 'connecting';
        if (session) await this.closeSession(session);
        session = undefined;
        await sleep(delayMs, this.abort.signal);
      } finally {
        if (session) await this.closeSession(session);
      }
    }
  }

  private async openSession(): Promise<Session> {
    const client = new pg.Client(this.clientConfig);
    const session: Session = { client, lost: undefined, leader: false, healthy: false };
    const lose = (reason: unknown) => {
      session.lost ??= reason;
      this.wake.notify();
    };
    client.on('error', lose);
    client.on('end', () => {
      lose(new SessionLostError('the database connection closed'));
    });
    client.on('notification', (notification) => {
      if (notification.channel === OUTBOX_CHANNEL) this.wake.notify();
    });
    this.session = session;
    try {
      await client.connect();
    } catch (error) {
      await endQuietly(client);
      throw error;
    }
    return session;
  }

  private async closeSession(session: Session): Promise<void> {
    if (this.session === session) this.session = undefined;
    if (session.lost === undefined && session.leader) {
      // Ending the session releases the lock anyway; unlocking first lets a standby take over
      // without waiting for the socket to close.
      await session.client
        .query('SELECT pg_advisory_unlock($1::bigint)', [this.lockKey])
        .catch(() => undefined);
      this.logger.info('outbox relay: released leadership');
    }
    session.leader = false;
    await endQuietly(session.client);
  }

  /** Returns true once this session holds the lock, false when stopping first. */
  private async becomeLeader(session: Session): Promise<boolean> {
    let announced = false;
    while (!this.stopping) {
      assertAlive(session);
      const { rows } = await session.client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1::bigint) AS locked',
        [this.lockKey],
      );
      if (rows[0]?.locked === true) {
        session.leader = true;
        return true;
      }
      if (!announced) {
        this.logger.info('outbox relay: another instance publishes; standing by');
        announced = true;
      }
      this.roleNow = 'standby';
      session.healthy = true;
      await this.wake.wait(this.standbyRetryMs);
    }
    return false;
  }

  private async lead(session: Session): Promise<void> {
    await session.client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    this.roleNow = 'leader';
    this.logger.info('outbox relay: leading (publishing)', { store: this.storeName });
    const backoff = new RelayBackoff(this.publishBackoff);
    while (!this.stopping) {
      assertAlive(session);
      // Signals up to here are covered by the pass below; any later one triggers another pass.
      this.wake.clear();
      const outcome = await this.pass(session);
      await this.reportBacklog(session);
      await this.purge(session);
      session.healthy = true;
      if (outcome.retryableError !== undefined) {
        const delayMs = backoff.next();
        this.logger.warn('outbox relay: publishing failed; will retry the same messages', {
          error: outcome.retryableError,
          attempt: backoff.attempts,
          delayMs,
        });
        await sleep(delayMs, this.abort.signal);
        continue;
      }
      backoff.reset();
      if (outcome.read < this.batchSize) await this.wake.wait(this.pollIntervalMs);
    }
  }

  private async pass(session: Session): Promise<PassOutcome> {
    const { client } = session;
    const { rows } = await client.query<PendingRow>(
      `SELECT position, message_id, topic, headers, payload
         FROM ${OUTBOX_TABLE}
        WHERE status = 'pending'
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, position
        LIMIT $1`,
      [this.batchSize],
    );
    if (rows.length === 0) return { read: 0 };

    const positions = new Map<OutgoingMessage, string>();
    const messages: OutgoingMessage[] = [];
    for (const row of rows) {
      try {
        const message = { topic: row.topic, envelope: envelopeFrom(row.headers, row.payload) };
        messages.push(message);
        positions.set(message, row.position);
      } catch (error) {
        if (!(error instanceof MalformedOutboxMessageError)) throw error;
        await this.park(client, row.position, row.message_id, row.topic, error.message);
      }
    }

    const outcome = await publishIsolatingRejects(
      this.options.publisher,
      messages,
      this.publishTimeoutMs,
    );
    if (outcome.published.length > 0) {
      await this.options.testHooks?.afterBrokerAck?.(outcome.published.map((m) => m.envelope.id));
      await this.markPublished(
        client,
        outcome.published.map((m) => positions.get(m) ?? ''),
      );
    }
    for (const { message, reason } of outcome.rejected) {
      await this.park(
        client,
        positions.get(message) ?? '',
        message.envelope.id,
        message.topic,
        reason,
      );
    }
    return outcome.retryableError === undefined
      ? { read: rows.length }
      : { read: rows.length, retryableError: outcome.retryableError };
  }

  private async markPublished(client: pg.Client, positions: readonly string[]): Promise<void> {
    const { rows } = await client.query<{ topic: string; latency_ms: number }>(
      `UPDATE ${OUTBOX_TABLE}
          SET status = 'published', published_at = clock_timestamp()
        WHERE position = ANY($1::bigint[]) AND status = 'pending'
    RETURNING topic, (extract(epoch FROM published_at - created_at) * 1000)::float8 AS latency_ms`,
      [positions],
    );
    for (const row of rows) this.metrics.published(row.topic, row.latency_ms);
  }

  private async park(
    client: pg.Client,
    position: string,
    messageId: string,
    topic: string,
    reason: string,
  ): Promise<void> {
    await client.query(
      `UPDATE ${OUTBOX_TABLE}
          SET status = 'parked', parked_at = clock_timestamp(), parked_reason = $2
        WHERE position = $1::bigint AND status = 'pending'`,
      [position, reason],
    );
    this.metrics.publishRejected(topic, reason);
    this.logger.error('outbox relay: the broker refuses a message; parked it, the rest continues', {
      messageId,
      topic,
      reason,
    });
  }

  /** After each pass, at most once per `backlogReportIntervalMs` (count(*) is not free). */
  private async reportBacklog(session: Session): Promise<void> {
    const now = Date.now();
    if (now - this.lastBacklogReport < this.backlogReportIntervalMs) return;
    this.lastBacklogReport = now;
    const { rows } = await session.client.query<{ backlog: number; oldest_age_ms: number }>(
      OUTBOX_BACKLOG_SQL,
    );
    const row = rows[0];
    if (row) this.metrics.outboxBacklog(this.storeName, row.backlog, row.oldest_age_ms);
  }

  private async purge(session: Session): Promise<void> {
    const now = Date.now();
    if (now - this.lastPurge < this.purgeIntervalMs) return;
    this.lastPurge = now;
    const limit = 10_000;
    for (;;) {
      const result = await session.client.query(
        `DELETE FROM ${OUTBOX_TABLE} WHERE position IN (
           SELECT position FROM ${OUTBOX_TABLE}
            WHERE status = 'published' AND published_at < clock_timestamp() - make_interval(secs => $1)
            LIMIT $2)`,
        [this.publishedRetentionMs / 1000, limit],
      );
      if ((result.rowCount ?? 0) < limit || this.stopping) return;
    }
  }
}

function assertAlive(session: Session): void {
  if (session.lost !== undefined) {
    throw session.lost instanceof Error
      ? session.lost
      : new SessionLostError('the database session was lost');
  }
}

async function endQuietly(client: pg.Client): Promise<void> {
  // end() on a connection that died can wait for a socket that never closes; do not hang on it.
  await Promise.race([
    client.end().catch(() => undefined),
    delay(2_000, undefined, { ref: false }),
  ]);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be positive, got ${value}`);
  return value;
}
