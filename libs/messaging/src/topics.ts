/**
 * Topic naming, derived the same way everywhere:
 *   <domain>.<kind>        e.g. `inventory.commands`, `inventory.events`
 *   <topic>.dlq            dead letters of a topic, with the reason in headers
 *   <topic>.retry          reserved for delayed (non-blocking) retries
 */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

export function retryTopic(topic: string): string {
  return `${topic}.retry`;
}

export function isDeadLetterTopic(topic: string): boolean {
  return topic.endsWith('.dlq');
}

/** The topic a dead-letter topic belongs to. */
export function originalTopicOf(dlqTopic: string): string {
  if (!isDeadLetterTopic(dlqTopic)) throw new RangeError(`${dlqTopic} is not a dead-letter topic`);
  return dlqTopic.slice(0, -'.dlq'.length);
}
