import { isSpanContextValid, trace } from '@opentelemetry/api';

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

/**
 * One JSON object per line on stdout, from `minLevel` up (LOG_LEVEL in the environment overrides
 * it, as it does for the services' pino logs). Lines written inside a span carry its `trace_id` and
 * `span_id`, named as OpenTelemetry's pino instrumentation names them, so one query finds a
 * message's lines in every service.
 */
export function jsonLogger(minLevel: Level = 'warn', component = 'messaging'): MessagingLogger {
  const threshold = RANK[levelFromEnv() ?? minLevel];
  const write =
    (level: Level) =>
    (message: string, fields?: Readonly<Record<string, unknown>>): void => {
      if (RANK[level] < threshold) return;
      const line = {
        time: new Date().toISOString(),
        level,
        component,
        msg: message,
        ...traceFields(),
        ...fields,
      };
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

function levelFromEnv(): Level | undefined {
  const raw = process.env.LOG_LEVEL;
  return raw !== undefined && raw in RANK ? (raw as Level) : undefined;
}

function traceFields(): Record<string, string> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return {};
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: `0${spanContext.traceFlags.toString(16)}`,
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}
