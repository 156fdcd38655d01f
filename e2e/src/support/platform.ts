import { LocalStack } from '@platform/infra';
import { request } from './http';

/**
 * The running platform for a suite: the test profile's infrastructure and every service, started
 * by the project's own launcher, with saga timings shortened so deadline scenarios finish in
 * seconds. Services are restarted so the timings apply even if an earlier run left them up.
 */
export interface Platform {
  readonly stack: LocalStack;
  readonly orderUrl: string;
  readonly inventoryUrl: string;
  readonly providerUrl: string;
}

export const SAGA_TIMINGS = {
  SAGA_STEP_TIMEOUT_MS: '6000',
  SAGA_RETRY_DELAY_MS: '500',
  SAGA_MAX_ATTEMPTS: '4',
  SAGA_DEADLINE_POLL_MS: '100',
  KAFKA_SESSION_TIMEOUT_MS: '6000',
};

/** `everyService`: extra environment for all services, e.g. `{ LOG_LEVEL: 'debug' }`. */
export async function startPlatform(everyService: NodeJS.ProcessEnv = {}): Promise<Platform> {
  const stack = new LocalStack();
  for (const service of stack.services) service.setEnvironment(everyService);
  stack.order.setEnvironment(SAGA_TIMINGS);
  stack.inventory.setEnvironment({ KAFKA_SESSION_TIMEOUT_MS: '6000' });
  // Provider calls bounded well inside the consumer session and the saga's step deadline.
  stack.payment.setEnvironment({
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    PROVIDER_TIMEOUT_MS: '1000',
    PROVIDER_BACKOFF_MAX_MS: '200',
  });
  await stack.up();
  for (const service of stack.services) {
    await service.stop();
    await service.start();
  }
  return {
    stack,
    orderUrl: stack.order.url,
    inventoryUrl: stack.inventory.url,
    providerUrl: stack.paymentProvider.url,
  };
}

export async function setStock(
  platform: Platform,
  sku: string,
  available: number,
  unitPrice = 1000,
): Promise<void> {
  const response = await request('PUT', `${platform.inventoryUrl}/admin/stock/${sku}`, {
    available,
    unitPrice,
    currency: 'EUR',
  });
  if (response.status >= 300)
    throw new Error(
      `setting stock for ${sku} answered ${response.status}: ${JSON.stringify(response.body)}`,
    );
}

export interface StockLevel {
  sku: string;
  available: number;
  reserved: number;
  sold: number;
}

export async function stockOf(platform: Platform, sku: string): Promise<StockLevel> {
  const response = await request<StockLevel>('GET', `${platform.inventoryUrl}/stock/${sku}`);
  if (response.status !== 200) throw new Error(`stock of ${sku} answered ${response.status}`);
  return response.body;
}

export async function setProviderBehaviour(
  platform: Platform,
  behaviour: Record<string, unknown>,
): Promise<void> {
  const response = await request('PUT', `${platform.providerUrl}/admin/behaviour`, behaviour);
  if (response.status >= 300)
    throw new Error(
      `provider behaviour answered ${response.status}: ${JSON.stringify(response.body)}`,
    );
}
