import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import { jsonLogger, type MessagingLogger } from './logger';

/**
 * How to reach the broker. This library's own shape, not kafkajs's, so that callers never import
 * kafkajs and a KafkaJS-compatible client could replace it behind these files alone.
 */
export interface KafkaConnectionConfig {
  readonly brokers: readonly string[];
  /** Shows up in broker logs and quotas: the service name, e.g. `order-service`. */
  readonly clientId: string;
  /** TCP connect timeout. Default 3000 ms. */
  readonly connectionTimeoutMs?: number;
  /** How long one request may wait for its response. Default 10000 ms (kafkajs: 30000). */
  readonly requestTimeoutMs?: number;
  /** Where the client's own log lines go. Default: JSON lines on stdout, warnings and up. */
  readonly logger?: MessagingLogger;
}

export const DEFAULT_CONNECTION_TIMEOUT_MS = 3000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** kafkajs says this whenever an idempotent producer has bounded retries; see KafkaPublisher. */
const EXPECTED_WARNINGS = [
  'Limiting retries for the idempotent producer may invalidate EoS guarantees',
];

/** @internal Builds the kafkajs client for a connection config. */
export function createKafka(config: KafkaConnectionConfig, clientIdSuffix?: string): Kafka {
  if (config.brokers.length === 0) throw new RangeError('kafka: at least one broker is required');
  const logger = config.logger ?? jsonLogger('warn', 'kafkajs');
  return new Kafka({
    clientId: clientIdSuffix ? `${config.clientId}-${clientIdSuffix}` : config.clientId,
    brokers: [...config.brokers],
    connectionTimeout: config.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    requestTimeout: config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    enforceRequestTimeout: true,
    logLevel: logLevel.INFO,
    logCreator: () => (entry: LogEntry) => {
      forward(logger, entry);
    },
  });
}

function forward(logger: MessagingLogger, entry: LogEntry): void {
  const { message, timestamp: _timestamp, logger: _name, ...fields } = entry.log;
  if (EXPECTED_WARNINGS.includes(message)) return;
  const context = { kafkaNamespace: entry.namespace, ...fields };
  switch (entry.level) {
    case logLevel.ERROR:
      logger.error(message, context);
      return;
    case logLevel.WARN:
      logger.warn(message, context);
      return;
    case logLevel.INFO:
      logger.info(message, context);
      return;
    case logLevel.DEBUG:
      logger.debug?.(message, context);
      return;
    case logLevel.NOTHING:
      return;
  }
}

/** The error and its causes, outermost first (kafkajs wraps the broker's error in retry errors). */
export function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && !chain.includes(current)) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

/**
 * The type of a broker protocol error (kafkajs KafkaJSProtocolError and its subclasses carry the
 * broker's `type` and `code`) somewhere in the chain.
 */
export function protocolErrorType(error: unknown): string | undefined {
  for (const link of errorChain(error)) {
    if (link instanceof Error && 'type' in link && 'code' in link) {
      const { type, code } = link as { type: unknown; code: unknown };
      if (typeof type === 'string' && typeof code === 'number') return type;
    }
  }
  return undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
