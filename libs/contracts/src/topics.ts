/**
 * Topics of the order saga. Commands go to the service that executes them, replies come back on
 * that service's events topic; every record is keyed by the order id, so one order's messages
 * stay in one partition, in order. Each topic has a `.dlq` companion (see @platform/messaging).
 */
export const TOPICS = {
  inventoryCommands: 'inventory.commands',
  inventoryEvents: 'inventory.events',
  paymentCommands: 'payment.commands',
  paymentEvents: 'payment.events',
  orderEvents: 'order.events',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/** Partitions per topic: enough for the local stack to show per-key ordering across partitions. */
export const TOPIC_PARTITIONS = 6;
