export { createServiceApp, runService, type RunOptions, type ServiceOptions } from './bootstrap';
export { setting, SettingError } from './config';
export { ServiceLifecycle, type ReadinessCheck } from './lifecycle';
export {
  CORRELATION_HEADER,
  createServiceLogger,
  LogErrorReporter,
  REDACTED_PATHS,
  scrubConnectionStrings,
  type CorrelationIdSource,
  type ErrorContext,
  type ErrorReporter,
  type LoggingOptions,
} from './logging';
export { HTTP_DURATION_BUCKETS, ServiceMetrics } from './metrics';
export {
  ASYNC_DURATION_BUCKETS,
  BoundedLabel,
  PrometheusMessagingMetrics,
  PrometheusProjectionMetrics,
} from './prometheus-hooks';
export {
  ProblemDetailsFilter,
  ProblemError,
  toProblem,
  ValidationProblem,
  type ProblemDetails,
} from './problem-details';
export { ServiceDefaultsModule } from './service-defaults.module';
export { ZodPipe, zodErrors } from './zod-pipe';
