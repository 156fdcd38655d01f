import { ConsoleLogger } from '@nestjs/common';
import { createSimulatorApp } from './app';
import { readConfig } from './config';

async function main(): Promise<void> {
  const config = readConfig(process.env);
  const app = await createSimulatorApp({
    ledgerFile: config.ledgerFile,
    logger: new ConsoleLogger({ json: true }),
  });
  // SIGTERM/SIGINT: release hung requests, stop sleeps, close the server, then exit.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(config.port, config.host);
  process.stdout.write(
    `${JSON.stringify({ msg: 'listening', url: await app.getUrl(), ledgerFile: config.ledgerFile ?? null })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
