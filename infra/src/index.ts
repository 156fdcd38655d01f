export {
  UnsupportedOperationError,
  type ComponentEndpoint,
  type InfraComponent,
} from './component';
export { KafkaComponent, READINESS_TOPIC } from './components/kafka';
export { MongoComponent } from './components/mongo';
export { NodeServiceComponent, type NodeServiceSpec } from './components/node-service';
export { ZipkinComponent, type ZipkinSpan } from './components/zipkin';
export { PostgresComponent } from './components/postgres';
export {
  ConfigError,
  repoRoot,
  resolveInfraConfig,
  type InfraConfig,
  type Profile,
} from './config';
export { LocalStack, useLocalStack } from './stack';
export { MissingToolError } from './toolchain';
