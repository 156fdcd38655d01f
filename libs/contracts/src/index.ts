export * from './common';
export * from './inventory';
export * from './payment';
export * from './topics';

import { inventoryMessages, inventoryTopics } from './inventory';
import { paymentMessages, paymentTopics } from './payment';

/** Every message definition of the saga, for a service's MessageRegistry. */
export const allMessages = [...inventoryMessages, ...paymentMessages] as const;
/** Message type → topic. */
export const topicOf = { ...inventoryTopics, ...paymentTopics } as const;
export type MessageType = keyof typeof topicOf;
