import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import type { ComponentEndpoint } from '../component';
import type { InfraConfig } from '../config';
import { ensureJvmRuntime, type JvmRuntime } from '../jvm';
import { ManagedProcessComponent, type LaunchSpec } from './managed-process';

/**
 * A MongoDB wire-protocol server for local runs and tests: de.bwaldvogel's mongo-java-server with
 * its H2 file backend, started by infra/java's MongoServerMain. It speaks wire version 8, which is
 * why the Node driver is pinned to 7.5.x. It has no multi-document transactions and does not
 * enforce non-unique secondary indexes; see docs/adr/0001-local-stack-without-containers.md.
 */
export class MongoComponent extends ManagedProcessComponent {
  readonly name = 'mongo';
  protected readonly ports: readonly number[];
  protected override readonly stopGraceMs = 15_000;
  private runtime: JvmRuntime | undefined;

  constructor(config: InfraConfig) {
    super(config);
    this.ports = [config.mongo.port];
  }

  get url(): string {
    return `mongodb://${this.config.host}:${this.config.mongo.port}`;
  }

  private get dataFile(): string {
    return path.join(this.dir, 'data', 'mongo.h2');
  }

  protected get marker(): string {
    return this.dataFile;
  }

  endpoint(): ComponentEndpoint {
    return {
      url: this.url,
      host: this.config.host,
      port: this.config.mongo.port,
      details: {
        server: 'mongo-java-server (H2 file backend)',
        data: this.dataFile,
        log: this.logFile,
      },
    };
  }

  protected prepare(): Promise<void> {
    this.runtime ??= ensureJvmRuntime(this.config, (line) => {
      console.error(line);
    });
    mkdirSync(path.dirname(this.dataFile), { recursive: true });
    return Promise.resolve();
  }

  protected launchSpec(): LaunchSpec {
    if (!this.runtime) throw new Error('mongo: prepare() must run before launch');
    const heap = this.config.mongo.heap;
    return {
      command: 'java',
      args: [
        `-Xmx${heap}`,
        '-XX:+UseSerialGC',
        '-XX:+ExitOnOutOfMemoryError',
        `-Dlog4j2.configurationFile=${this.runtime.log4jConfig}`,
        '-cp',
        this.runtime.classpath,
        'platform.infra.MongoServerMain',
        this.config.host,
        String(this.config.mongo.port),
        this.dataFile,
      ],
    };
  }

  protected async probe(): Promise<void> {
    const client = new MongoClient(this.url, {
      serverSelectionTimeoutMS: 1000,
      connectTimeoutMS: 1000,
    });
    try {
      await client.connect();
      const reply = await client.db('admin').command({ ping: 1 });
      if (reply.ok !== 1) throw new Error(`ping answered ${JSON.stringify(reply)}`);
    } finally {
      await client.close();
    }
  }
}
