/**
 * A relay in its own process, for the crash tests: the parent SIGKILLs it, or sets
 * OUTBOX_RELAY_CRASH_AFTER_ACKS=n to make it SIGKILL itself right after the broker acknowledged its
 * n-th batch and before the rows are marked published (the duplicate-publish window).
 *
 * Prints one JSON line per role change, so the parent knows when it leads.
 */
import { KafkaPublisher } from '../../kafka-publisher';
import { silentLogger } from '../../logger';
import { PostgresOutboxRelay, type RelayRole } from '../postgres-outbox-relay';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

const crashAfterAcks = Number(process.env.OUTBOX_RELAY_CRASH_AFTER_ACKS ?? '0');
let acks = 0;

const publisher = new KafkaPublisher({
  brokers: required('OUTBOX_RELAY_BROKERS').split(','),
  clientId: 'outbox-relay-child',
  logger: silentLogger,
});
const relay = new PostgresOutboxRelay({
  connection: required('OUTBOX_RELAY_DATABASE_URL'),
  publisher,
  batchSize: Number(process.env.OUTBOX_RELAY_BATCH_SIZE ?? '100'),
  standbyRetryMs: 100,
  logger: silentLogger,
  testHooks: {
    afterBrokerAck: (ids) => {
      acks += 1;
      process.stdout.write(
        `${JSON.stringify({ event: 'acked', batch: acks, count: ids.length })}\n`,
      );
      if (crashAfterAcks > 0 && acks >= crashAfterAcks) process.kill(process.pid, 'SIGKILL');
    },
  },
});

let role: RelayRole = relay.role;
const watch = setInterval(() => {
  if (relay.role !== role) {
    role = relay.role;
    process.stdout.write(`${JSON.stringify({ event: 'role', role })}\n`);
  }
}, 20);

process.on('SIGTERM', () => {
  clearInterval(watch);
  void relay
    .stop()
    .then(() => publisher.close())
    .finally(() => process.exit(0));
});

relay.start();
