export { createServiceApp, runService, type RunOptions, type ServiceOptions } from './bootstrap';
export { setting, SettingError } from './config';
export { ServiceLifecycle, type ReadinessCheck } from './lifecycle';
export {
  ProblemDetailsFilter,
  ProblemError,
  toProblem,
  ValidationProblem,
  type ProblemDetails,
} from './problem-details';
export { ServiceDefaultsModule } from './service-defaults.module';
export { ZodPipe, zodErrors } from './zod-pipe';
