import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, resolveInfraConfig } from './config';

describe('resolveInfraConfig', () => {
  it('when no profile is given, then the dev profile is used', () => {
    const config = resolveInfraConfig({});
    assert.equal(config.profile, 'dev');
    assert.equal(config.kafka.port, 9092);
  });

  it('when the test profile is chosen, then no port or state directory is shared with dev', () => {
    const dev = resolveInfraConfig({ PLATFORM_PROFILE: 'dev' });
    const test = resolveInfraConfig({ PLATFORM_PROFILE: 'test' });
    const ports = (c: typeof dev) => [
      c.kafka.port,
      c.kafka.controllerPort,
      c.postgres.port,
      c.mongo.port,
    ];
    assert.equal(ports(dev).filter((p) => ports(test).includes(p)).length, 0);
    assert.notEqual(dev.stateDir, test.stateDir);
    assert.equal(dev.jvmDir, test.jvmDir, 'the resolved JVM classpath is shared');
  });

  it('when a port is overridden, then it is used', () => {
    assert.equal(resolveInfraConfig({ KAFKA_PORT: '19092' }).kafka.port, 19092);
  });

  it('when a port is not a port, then a ConfigError names the variable', () => {
    assert.throws(
      () => resolveInfraConfig({ MONGO_PORT: 'abc' }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('MONGO_PORT'),
    );
    assert.throws(() => resolveInfraConfig({ KAFKA_PORT: '70000' }), ConfigError);
  });

  it('when the profile is unknown, then a ConfigError says which are valid', () => {
    assert.throws(() => resolveInfraConfig({ PLATFORM_PROFILE: 'prod' }), /"dev" or "test"/);
  });

  it('when a Postgres URL is given, then Postgres is external', () => {
    const config = resolveInfraConfig({ PLATFORM_POSTGRES_URL: 'postgres://u@db:5432/x' });
    assert.equal(config.postgres.externalUrl, 'postgres://u@db:5432/x');
  });
});
