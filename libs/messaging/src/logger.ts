/**
 * The little logging the messaging components need, as an interface so the platform's logging
 * library (structured JSON with trace and correlation ids) can be plugged in without this library
 * depending on it. kafkajs's own log lines are routed here too.
 */
export interface MessagingLogger {
  debug?(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One JSON object per line on stdout, from `minLevel` up: the default until a service wires its logger. */
export function jsonLogger(minLevel: Level = 'warn', component = 'messaging'): MessagingLogger {
  const write =
    (level: Level) =>
    (message: string, fields?: Readonly<Record<string, unknown>>): void => {
      if (RANK[level] < RANK[minLevel]) return;
      const line = { time: new Date().toISOString(), level, component, msg: message, ...fields };
      process.stdout.write(`${JSON.stringify(line, errorReplacer)}\n`);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** Discards everything. */
export const silentLogger: MessagingLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}
