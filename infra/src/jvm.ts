import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { InfraConfig } from './config';
import { run } from './process';
import { requireJava, requireMaven } from './toolchain';

/**
 * The JVM side of the local stack (Kafka, mongo-java-server, Zipkin) is described by infra/java/pom.xml.
 * Maven resolves it from Maven Central once; the resulting classpath is cached under the state
 * directory and reused until the pom or the Java sources change.
 */

export interface JvmRuntime {
  readonly classpath: string;
  readonly log4jConfig: string;
  /** Zipkin's executable server jar (it brings its own classpath). */
  readonly zipkinJar: string;
}

function javaProjectDir(config: InfraConfig): string {
  return path.join(config.rootDir, 'infra', 'java');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'target' ? [] : filesUnder(full);
    return [full];
  });
}

function fingerprint(projectDir: string): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(projectDir).sort()) {
    hash.update(path.relative(projectDir, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex');
}

function cachedClasspath(
  classpathFile: string,
  fingerprintFile: string,
  expected: string,
): string | undefined {
  if (!existsSync(classpathFile) || !existsSync(fingerprintFile)) return undefined;
  if (readFileSync(fingerprintFile, 'utf8').trim() !== expected) return undefined;
  const classpath = readFileSync(classpathFile, 'utf8').trim();
  const complete = classpath
    .split(':')
    .every((entry) => existsSync(entry) && statSync(entry).size > 0);
  return complete ? classpath : undefined;
}

/**
 * Returns the classpath for the local JVM components, running Maven when needed.
 * `log` receives progress lines (Maven's own output on first resolution).
 */
export function ensureJvmRuntime(
  config: InfraConfig,
  log: (line: string) => void = () => undefined,
): JvmRuntime {
  requireJava();
  const projectDir = javaProjectDir(config);
  const log4jConfig = path.join(projectDir, 'config', 'log4j2.properties');
  const classpathFile = path.join(config.jvmDir, 'classpath.txt');
  const fingerprintFile = path.join(config.jvmDir, 'fingerprint');
  const expected = fingerprint(projectDir);
  const zipkinJar = path.join(projectDir, 'target', 'zipkin', 'zipkin-server.jar');

  const cached = cachedClasspath(classpathFile, fingerprintFile, expected);
  if (cached && existsSync(zipkinJar)) return { classpath: cached, log4jConfig, zipkinJar };

  requireMaven();
  mkdirSync(config.jvmDir, { recursive: true });
  const dependencies = path.join(config.jvmDir, 'dependencies.txt');
  log(
    'Resolving Apache Kafka, mongo-java-server and Zipkin with Maven (the first run downloads about 250 MB)...',
  );
  const result = run(
    'mvn',
    [
      '-B',
      '-Dstyle.color=never',
      '-f',
      path.join(projectDir, 'pom.xml'),
      'package',
      'dependency:build-classpath',
      `-Dmdep.outputFile=${dependencies}`,
      '-Dmdep.includeScope=runtime',
    ],
    { inherit: true },
  );
  if (result.status !== 0) {
    throw new Error(
      `Maven could not build infra/java (exit ${result.status}). Its output above says why; ` +
        'check that Maven Central is reachable (or that ~/.m2 already holds the artifacts).',
    );
  }
  const jar = path.join(projectDir, 'target', 'local-infra-0.0.0.jar');
  const classpath = `${readFileSync(dependencies, 'utf8').trim()}:${jar}`;
  writeFileSync(classpathFile, `${classpath}\n`);
  writeFileSync(fingerprintFile, `${expected}\n`);
  log('JVM classpath ready.');
  return { classpath, log4jConfig, zipkinJar };
}
