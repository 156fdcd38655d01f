export {
  Actors,
  AdminGuard,
  AdminOnly,
  AUTH_SETTINGS,
  authSettingsFromEnv,
  matchAdminToken,
  parseAdminTokens,
  resolveActor,
  type AdminToken,
  type AuthSettings,
} from './actor';
export {
  ANONYMOUS,
  AuditLog,
  LogAuditSink,
  MemoryAuditSink,
  redactAuditDetails,
  type Actor,
  type AuditEntry,
  type AuditOutcome,
  type AuditRecord,
  type AuditSink,
  type AuditSubject,
} from './audit';
export { createServiceApp, runService, type RunOptions, type ServiceOptions } from './bootstrap';
export { setting, SettingError } from './config';
export {
  DeadLetterAdmin,
  DeadLetterAdminController,
  DeadLetterAdminModule,
  RedriveBody,
  type DeadLetterAdminOptions,
  type DeadLetterView,
} from './dead-letter-admin';
export { ReadinessCheckError, ServiceLifecycle, type ReadinessCheck } from './lifecycle';
export {
  consumerLagCheck,
  outboxBacklogCheck,
  readinessThresholds,
  type ConsumerLagSource,
  type ReadinessThresholds,
} from './readiness-checks';
export {
  CORRELATION_HEADER,
  createServiceLogger,
  LogErrorReporter,
  REDACTED_PATHS,
  scrubConnectionStrings,
  type CorrelationIdSource,
  type ErrorContext,
  type ProcessErrorContext,
  type ErrorReporter,
  type LoggingOptions,
  type RequestLogFields,
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
  type ProblemMapper,
} from './problem-details';
export { ServiceDefaultsModule } from './service-defaults.module';
export { ZodPipe, zodErrors } from './zod-pipe';
