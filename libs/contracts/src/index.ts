export * from './common';
export * from './inventory';
export * from './payment';
export * from './topics';

import { inventoryContracts } from './inventory';
import { paymentContracts } from './payment';

/** Every message type of the saga: topic, current schema version and payload schema. */
export const contracts = { ...inventoryContracts, ...paymentContracts } as const;
export type MessageType = keyof typeof contracts;
