import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel, type ITopicConfig } from 'kafkajs';
import type { ComponentEndpoint } from '../component';
import type { InfraConfig } from '../config';
import { ensureJvmRuntime, type JvmRuntime } from '../jvm';
import { run } from '../process';
import { ManagedProcessComponent, type LaunchSpec } from './managed-process';

/** Topic used only by the readiness probe's produce/consume round trip. */
export const READINESS_TOPIC = '__platform.readiness';

/**
 * A real single-node Apache Kafka 4 broker in KRaft combined mode (broker + controller in one
 * JVM), from the Maven Central artifacts resolved by infra/java/pom.xml.
 *
 * Topic auto-creation is off: the platform creates its topics explicitly with the partition
 * counts it needs (`createTopics`), so a typo in a topic name fails loudly instead of creating a
 * one-partition topic nobody consumes.
 */
export class KafkaComponent extends ManagedProcessComponent {
  readonly name = 'kafka';
  protected readonly ports: readonly number[];
  private runtime: JvmRuntime | undefined;

  constructor(config: InfraConfig) {
    super(config);
    this.ports = [config.kafka.port, config.kafka.controllerPort];
  }

  get brokers(): string[] {
    return [`${this.config.host}:${this.config.kafka.port}`];
  }

  private get propertiesFile(): string {
    return path.join(this.dir, 'server.properties');
  }

  private get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  protected get marker(): string {
    return this.propertiesFile;
  }

  endpoint(): ComponentEndpoint {
    return {
      url: this.brokers.join(','),
      host: this.config.host,
      port: this.config.kafka.port,
      details: { mode: 'KRaft broker+controller', data: this.dataDir, log: this.logFile },
    };
  }

  private serverProperties(): string {
    const { host } = this.config;
    const { port, controllerPort } = this.config.kafka;
    const settings: Record<string, string | number | boolean> = {
      'process.roles': 'broker,controller',
      'node.id': 1,
      'controller.quorum.bootstrap.servers': `${host}:${controllerPort}`,
      listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
      'advertised.listeners': `PLAINTEXT://${host}:${port}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'log.dirs': this.dataDir,
      // One node: every internal topic must fit on it.
      'offsets.topic.replication.factor': 1,
      'offsets.topic.num.partitions': 10,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      'share.coordinator.state.topic.replication.factor': 1,
      'share.coordinator.state.topic.min.isr': 1,
      'default.replication.factor': 1,
      'min.insync.replicas': 1,
      'num.partitions': 1,
      // Topics are created explicitly by the platform, never by a typo.
      'auto.create.topics.enable': false,
      // Groups form at once: tests and restarts do not wait the default 3 s.
      'group.initial.rebalance.delay.ms': 0,
      // Let clients choose short session timeouts (the failure tests kill consumers).
      'group.min.session.timeout.ms': 1000,
      'log.retention.hours': 168,
      'log.segment.bytes': 64 * 1024 * 1024,
      'num.network.threads': 2,
      'num.io.threads': 4,
    };
    return `${Object.entries(settings)
      .map(([key, value]) => `${key}=${String(value)}`)
      .join('\n')}\n`;
  }

  protected prepare(): Promise<void> {
    this.runtime ??= ensureJvmRuntime(this.config, (line) => {
      console.error(line);
    });
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.propertiesFile, this.serverProperties());
    if (!existsSync(path.join(this.dataDir, 'meta.properties'))) {
      // KRaft storage is formatted once with a fresh cluster id; later starts reuse it.
      const clusterId = randomBytes(16).toString('base64url');
      const result = run('java', [
        '-cp',
        this.runtime.classpath,
        `-Dlog4j2.configurationFile=${this.runtime.log4jConfig}`,
        'kafka.tools.StorageTool',
        'format',
        '--standalone',
        '-t',
        clusterId,
        '-c',
        this.propertiesFile,
      ]);
      if (result.status !== 0) {
        throw new Error(
          `kafka: formatting ${this.dataDir} failed:\n${result.stderr || result.stdout}`,
        );
      }
    }
    return Promise.resolve();
  }

  protected launchSpec(): LaunchSpec {
    if (!this.runtime) throw new Error('kafka: prepare() must run before launch');
    const heap = this.config.kafka.heap;
    return {
      command: 'java',
      args: [
        `-Xms${heap}`,
        `-Xmx${heap}`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${this.runtime.log4jConfig}`,
        '-cp',
        this.runtime.classpath,
        'kafka.Kafka',
        this.propertiesFile,
      ],
    };
  }

  /** Metadata answers, and a message makes a produce/consume round trip through a group. */
  protected async probe(): Promise<void> {
    const kafka = new Kafka({
      clientId: 'platform-infra-readiness',
      brokers: this.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 5000,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    const consumer = kafka.consumer({
      groupId: 'platform-infra-readiness',
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      retry: { retries: 3 },
    });
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0) throw new Error('no broker registered yet');
      await ensureTopics(admin, [
        {
          topic: READINESS_TOPIC,
          numPartitions: 1,
          configEntries: [{ name: 'retention.ms', value: '600000' }],
        },
      ]);

      const token = randomUUID();
      await producer.connect();
      await producer.send({
        topic: READINESS_TOPIC,
        acks: -1,
        messages: [{ key: 'probe', value: token }],
      });

      await consumer.connect();
      await consumer.subscribe({ topic: READINESS_TOPIC, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error('produced a probe message but did not consume it within 20 s'));
        }, 20_000);
        void consumer
          .run({
            eachMessage: ({ message }) => {
              if (message.value?.toString() === token) {
                clearTimeout(timer);
                resolve();
              }
              return Promise.resolve();
            },
          })
          .catch((error: unknown) => {
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(String(error)));
          });
      });
    } finally {
      await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
    }
  }

  /** Creates topics that do not exist yet (idempotent), waiting for their leaders. */
  async createTopics(topics: ITopicConfig[]): Promise<void> {
    const kafka = new Kafka({
      clientId: 'platform-infra-admin',
      brokers: this.brokers,
      logLevel: logLevel.ERROR,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, topics);
    } finally {
      await admin.disconnect();
    }
  }
}

async function ensureTopics(
  admin: ReturnType<Kafka['admin']>,
  topics: ITopicConfig[],
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (error) {
    // Another process may have created it between our list and create.
    if (!(error instanceof Error) || !/already exists/i.test(error.message)) throw error;
  }
}
