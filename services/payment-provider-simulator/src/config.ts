import { z } from 'zod';

const EnvironmentSchema = z.object({
  PORT: z
    .string()
    .regex(/^\d+$/, 'must be a port number')
    .transform(Number)
    .pipe(z.int().min(0).max(65535))
    .default(4010),
  HOST: z.string().min(1).default('127.0.0.1'),
  LEDGER_FILE: z.string().min(1).optional(),
});

export interface SimulatorConfig {
  port: number;
  host: string;
  ledgerFile: string | undefined;
}

/** Reads PORT (default 4010), HOST (default 127.0.0.1) and LEDGER_FILE (optional). */
export function readConfig(environment: Record<string, string | undefined>): SimulatorConfig {
  const result = EnvironmentSchema.safeParse(environment);
  if (!result.success) {
    throw new Error(`payment-provider-simulator: invalid environment: ${result.error.message}`);
  }
  return { port: result.data.PORT, host: result.data.HOST, ledgerFile: result.data.LEDGER_FILE };
}
