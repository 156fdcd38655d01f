/**
 * Fixtures for this service's integration tests (not used by the service itself): a scratch
 * payments database on the launcher's Postgres, the payment-provider simulator in-process on a
 * free port (real HTTP), a publisher for commands and a collector of the replies, all on the
 * launcher's real Kafka.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  allMessages,
  AuthorizePaymentV1,
  CancelPaymentV1,
  CapturePaymentV1,
  PaymentAuthorizedV1,
  PaymentCancelledV1,
  PaymentCapturedV1,
  PaymentCaptureFailedV1,
  PaymentDeclinedV1,
  TOPIC_PARTITIONS,
  TOPICS,
  type AuthorizePayment,
} from '@platform/contracts';
import { useLocalStack, type LocalStack } from '@platform/infra';
import {
  createEnvelope,
  ensureTopics,
  idempotentHandler,
  jsonLogger,
  KafkaPublisher,
  MessageConsumer,
  MessageRegistry,
  type Envelope,
  type MessageDefinition,
} from '@platform/messaging';
import { createSimulatorApp } from '@platform/payment-provider-simulator/dist/app';
import type { RequestLogRecord } from '@platform/payment-provider-simulator/dist/http/request-log';
import type { PaymentServiceConfig } from './config';
import { PaymentRuntime, type PaymentRuntimeOptions } from './infrastructure/payment-runtime';
import type { ProviderPolicyOptions } from './infrastructure/provider-client';

export interface ReceivedReply {
  readonly id: string;
  readonly type: string;
  readonly payload: Record<string, unknown> & { orderId: string };
  readonly causationId: string | undefined;
  readonly correlationId: string;
  /** performance.now() when the collector got it. */
  readonly receivedAt: number;
}

export interface LedgerSummary {
  authorized: number;
  captured: number;
  voided: number;
  refunded: number;
  counts: { authorizations: number; captures: number; voids: number; refunds: number };
}

export interface LedgerEntry {
  readonly sequence: number;
  readonly kind: 'authorization' | 'capture' | 'void' | 'refund';
  readonly id: string;
  readonly authorizationId: string;
  readonly amount: number;
  readonly idempotencyKey: string;
}

export interface ProviderRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number | null;
  readonly idempotencyKey: string | null;
  readonly faults: readonly string[];
}

/** An order's payment terms; each call gives a new order id. */
export function anOrder(overrides: Partial<AuthorizePayment> = {}): AuthorizePayment {
  return {
    orderId: randomUUID(),
    customerId: 'customer-1',
    amount: 2500,
    currency: 'EUR',
    ...overrides,
  };
}

/** Polls until `check` returns a value, or fails after `timeoutMs` naming `what`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

const REPLY_DEFINITIONS: MessageDefinition[] = [
  PaymentAuthorizedV1,
  PaymentDeclinedV1,
  PaymentCapturedV1,
  PaymentCaptureFailedV1,
  PaymentCancelledV1,
];

/** Collects every reply on payment.events; tests look them up by order or by causing command. */
export class ReplyCollector {
  private readonly received: ReceivedReply[] = [];
  private readonly consumer: MessageConsumer;

  constructor(brokers: readonly string[], groupId: string, publisher: KafkaPublisher) {
    this.consumer = new MessageConsumer({
      kafka: { brokers, clientId: 'payment-it-replies' },
      groupId,
      topics: [TOPICS.paymentEvents],
      registry: new MessageRegistry(allMessages),
      handlers: REPLY_DEFINITIONS.map((definition) =>
        idempotentHandler(definition, ({ envelope }) => {
          this.received.push({
            id: envelope.id,
            type: envelope.type,
            payload: envelope.payload as ReceivedReply['payload'],
            causationId: envelope.causationId,
            correlationId: envelope.correlationId,
            receivedAt: performance.now(),
          });
          return Promise.resolve();
        }),
      ),
      publisher,
      sessionTimeoutMs: 10_000,
      unhandledTypes: 'skip',
      logger: jsonLogger('warn', 'payment-it-replies'),
    });
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
  }

  /** Distinct replies (by message id) for one order, in arrival order. */
  forOrder(orderId: string): ReceivedReply[] {
    const seen = new Set<string>();
    return this.received.filter((reply) => {
      if (reply.payload.orderId !== orderId || seen.has(reply.id)) return false;
      seen.add(reply.id);
      return true;
    });
  }

  /** The reply caused by `command`, once it arrives. */
  replyTo(command: Envelope, timeoutMs = 30_000): Promise<ReceivedReply> {
    return eventually(
      `the reply to ${command.type} ${command.id} (order ${command.key})`,
      () => this.received.find((reply) => reply.causationId === command.id),
      timeoutMs,
    );
  }
}

/** The provider simulator, in this process, on a free port: real HTTP. */
export interface Simulator {
  readonly baseUrl: string;
  /** One record per request the simulator answered or abandoned. */
  readonly requests: readonly RequestLogRecord[];
  /** A JSON request to the simulator; fails on a non-2xx answer. */
  call<T>(
    method: 'GET' | 'PUT' | 'POST',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T>;
  close(): Promise<void>;
}

async function startSimulator(): Promise<Simulator> {
  const requests: RequestLogRecord[] = [];
  const app = await createSimulatorApp({ requestLog: (record) => requests.push(record) });
  await app.listen(0, '127.0.0.1');
  const baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    baseUrl,
    requests,
    call: async <T>(
      method: 'GET' | 'PUT' | 'POST',
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`simulator ${method} ${path}: ${response.status} ${text}`);
      return JSON.parse(text) as T;
    },
    close: () => app.close(),
  };
}

export interface PaymentTestEnvironment {
  readonly stack: LocalStack;
  readonly databaseUrl: string;
  readonly brokers: readonly string[];
  readonly simulator: Simulator;
  readonly replies: ReplyCollector;
  /** Publishes the envelope as is (publish the same one twice for a duplicate delivery). */
  publish(envelope: Envelope): Promise<void>;
  authorize(order: AuthorizePayment): Promise<Envelope>;
  capture(orderId: string, amount: number): Promise<Envelope>;
  cancel(orderId: string, reason?: string): Promise<Envelope>;
  /** Replaces the simulator's fault knobs (PUT /admin/behaviour). */
  behave(knobs: Record<string, unknown>): Promise<void>;
  /** Runs `action` with the knobs set, and clears them afterwards whatever happens. */
  withBehaviour<T>(knobs: Record<string, unknown>, action: () => Promise<T>): Promise<T>;
  /** The simulator's ledger totals for one order (its reference). */
  ledger(orderId: string): Promise<LedgerSummary>;
  /** The simulator's ledger entries for one order, in order. */
  ledgerEntries(orderId: string): Promise<LedgerEntry[]>;
  /** Requests the simulator received for one order, recognised by its idempotency keys. */
  providerRequests(orderId: string): ProviderRequest[];
  close(): Promise<void>;
}

export function commandEnvelope<Payload>(
  definition: MessageDefinition<string, Payload>,
  orderId: string,
  payload: Payload,
): Envelope<Payload> {
  return createEnvelope({
    id: randomUUID(),
    type: definition,
    source: 'payment-it',
    time: new Date(),
    key: orderId,
    correlationId: orderId,
    payload,
  });
}

/** Everything but the payment service itself; `name` keeps each spec file's reply group apart. */
export async function openTestEnvironment(name: string): Promise<PaymentTestEnvironment> {
  const stack = await useLocalStack();
  const scratch = await stack.postgres.createScratchDatabase(`payments_${name}`);
  const brokers = stack.kafka.brokers;
  const simulator = await startSimulator();
  await ensureTopics({ brokers, clientId: 'payment-it' }, [
    { topic: TOPICS.paymentCommands, partitions: TOPIC_PARTITIONS },
    { topic: TOPICS.paymentEvents, partitions: TOPIC_PARTITIONS },
  ]);
  const publisher = new KafkaPublisher({ brokers, clientId: 'payment-it-commands' });
  const replies = new ReplyCollector(brokers, `payment-it.${name}.replies`, publisher);
  await replies.start();

  const behave = async (knobs: Record<string, unknown>) => {
    await simulator.call('PUT', '/admin/behaviour', knobs);
  };
  const publish = (envelope: Envelope) =>
    publisher.publish([{ topic: TOPICS.paymentCommands, envelope }]);
  const send = async <P>(definition: MessageDefinition<string, P>, orderId: string, payload: P) => {
    const envelope = commandEnvelope(definition, orderId, payload);
    await publish(envelope);
    return envelope;
  };
  return {
    stack,
    databaseUrl: scratch.url,
    brokers,
    simulator,
    replies,
    publish,
    authorize: (order) => send(AuthorizePaymentV1, order.orderId, order),
    capture: (orderId, amount) => send(CapturePaymentV1, orderId, { orderId, amount }),
    cancel: (orderId, reason = 'saga compensation') =>
      send(CancelPaymentV1, orderId, { orderId, reason }),
    behave,
    withBehaviour: async (knobs, action) => {
      await behave(knobs);
      try {
        return await action();
      } finally {
        await behave({});
      }
    },
    ledger: (orderId) =>
      simulator.call<LedgerSummary>('GET', `/v1/ledger/summary?reference=${orderId}`),
    ledgerEntries: async (orderId) =>
      (await simulator.call<{ entries: LedgerEntry[] }>('GET', `/v1/ledger?reference=${orderId}`))
        .entries,
    providerRequests: (orderId) =>
      simulator.requests
        .filter(
          (record) =>
            // The provider API, not the test's own ledger and admin calls.
            /^\/v1\/(authorizations|captures)/.test(record.path) &&
            (record.idempotencyKey?.startsWith(`${orderId}:`) === true ||
              record.path.includes(orderId)),
        )
        .map(({ method, path, status, idempotencyKey, faults }) => ({
          method,
          path,
          status,
          idempotencyKey,
          faults,
        })),
    close: async () => {
      await replies.stop();
      await publisher.close();
      await simulator.close();
      await scratch.drop().catch(() => undefined);
    },
  };
}

/** Provider policies for tests: short enough for quick scenarios, generous for busy machines. */
export const TEST_PROVIDER_POLICY: ProviderPolicyOptions = {
  timeoutMs: 1000,
  attempts: 3,
  backoff: { initialDelayMs: 50, maxDelayMs: 200 },
  breaker: { consecutiveFailures: 20, halfOpenAfterMs: 3000 },
  bulkhead: { limit: 8, queue: 16 },
};

export function testConfig(
  env: PaymentTestEnvironment,
  provider: Partial<ProviderPolicyOptions> = {},
): PaymentServiceConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    databaseUrl: env.databaseUrl,
    kafkaBrokers: [...env.brokers],
    providerUrl: env.simulator.baseUrl,
    provider: { ...TEST_PROVIDER_POLICY, ...provider },
    unknownOutcomeSettleMs: 1000,
    consumer: { sessionTimeoutMs: 10_000, partitionsConcurrently: 3 },
    readiness: { maxOutboxBacklog: 10_000, maxConsumerLag: 10_000, consumerLagPollMs: 5000 },
    crashAfterProviderCall: [],
  };
}

/** The payment service's runtime (no HTTP), started against the environment. */
export async function startRuntime(
  env: PaymentTestEnvironment,
  provider: Partial<ProviderPolicyOptions> = {},
  options: PaymentRuntimeOptions = {},
): Promise<PaymentRuntime> {
  const runtime = await PaymentRuntime.open(testConfig(env, provider), {
    logger: jsonLogger('warn', 'payment-service'),
    ...options,
  });
  await runtime.start();
  return runtime;
}
