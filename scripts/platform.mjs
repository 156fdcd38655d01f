#!/usr/bin/env node
// Entry point behind the README's commands (`npm run up`, `npm test`, `npm run down`).
// Plain JavaScript with no dependencies, because it runs before `npm ci` has installed anything:
// it installs what a fresh machine lacks, builds the TypeScript, then hands over to the launcher
// (infra/dist/cli.js) and the test runner.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const launcher = path.join(root, 'infra', 'dist', 'cli.js');
const isRoot = process.getuid?.() === 0;

function say(line) {
  console.error(`[platform] ${line}`);
}

function sh(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function must(command, args, options) {
  const status = sh(command, args, options);
  if (status !== 0) {
    say(`\`${command} ${args.join(' ')}\` failed with exit ${status}`);
    process.exit(status);
  }
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** npm ci when node_modules is missing or older than the lock file. */
function ensureNodeModules() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  say('installing npm dependencies (npm ci)...');
  must('npm', ['ci', '--no-audit', '--no-fund']);
}

/** Debian packages the suite uses; installed when we can (root with apt), named when we cannot. */
function ensureDebianTools() {
  const wanted = [
    { command: 'docker-compose', pkg: 'docker-compose', why: 'validates docker-compose.yml' },
    {
      command: 'java',
      pkg: 'openjdk-17-jre-headless',
      why: 'runs Kafka and the MongoDB-compatible server',
    },
    { command: 'mvn', pkg: 'maven', why: 'fetches Kafka and mongo-java-server from Maven Central' },
    { command: 'promtool', pkg: 'prometheus', why: 'checks and unit-tests the Prometheus rules' },
  ];
  const missing = wanted.filter((tool) => !onPath(tool.command));
  if (missing.length === 0) return;
  const packages = missing.map((tool) => tool.pkg);
  if (!isRoot || !onPath('apt-get')) {
    for (const tool of missing)
      say(`missing \`${tool.command}\` (${tool.why}): install the ${tool.pkg} package`);
    return;
  }
  say(`installing Debian packages: ${packages.join(' ')}...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  must('apt-get', ['update', '-qq'], { env });
  must('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
}

function build() {
  say('building (tsc -b)...');
  must(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], {});
}

function setup() {
  ensureDebianTools();
  ensureNodeModules();
  build();
  must(process.execPath, [launcher, 'prepare']);
}

/** Demo stock for the dev stack (idempotent), through the inventory service's own code path. */
function seed() {
  const script = path.join(root, 'services', 'inventory', 'dist', 'seed.js');
  if (!existsSync(script)) return;
  must(process.execPath, [script]);
}

const TIERS = ['unit', 'int', 'e2e'];

/** Compiled spec files of the given tiers, found under every workspace's dist folder. */
function specFiles(tiers) {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (
        tiers.some((tier) => entry.name.endsWith(`.${tier}.spec.js`)) &&
        full.includes(`${path.sep}dist${path.sep}`)
      ) {
        found.push(full);
      }
    }
  };
  for (const dir of ['infra', 'libs', 'services', 'e2e'].map((d) => path.join(root, d))) {
    if (existsSync(dir)) walk(dir);
  }
  return found.sort();
}

function runTests(args) {
  const tierIndex = args.indexOf('--tier');
  const tiers = tierIndex >= 0 ? args[tierIndex + 1].split(',') : TIERS;
  for (const tier of tiers) {
    if (!TIERS.includes(tier)) {
      say(`unknown test tier "${tier}"; use ${TIERS.join(', ')}`);
      process.exit(2);
    }
  }
  setup();
  const files = specFiles(tiers);
  if (files.length === 0) {
    say(`no ${tiers.join('/')} spec files found`);
    process.exit(1);
  }
  // Tests get their own ports and state (the `test` profile), so a running dev stack is untouched.
  const env = { ...process.env, PLATFORM_PROFILE: 'test' };
  const needsInfra = tiers.some((tier) => tier !== 'unit');
  if (needsInfra) {
    say('starting the test infrastructure...');
    must(process.execPath, [launcher, 'up', '--infra'], { env });
  }
  let status = 1;
  try {
    say(`running ${files.length} spec files (${tiers.join(', ')})...`);
    // One file at a time: integration files kill and restart shared components.
    status = sh(
      process.execPath,
      ['--enable-source-maps', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
      { env },
    );
  } finally {
    if (needsInfra && !process.env.PLATFORM_KEEP_TEST_INFRA) {
      say('stopping the test infrastructure...');
      sh(process.execPath, [launcher, 'down'], { env });
    }
  }
  process.exit(status);
}

const [command = 'help', ...rest] = process.argv.slice(2);
switch (command) {
  case 'setup':
    setup();
    break;
  case 'up':
    setup();
    must(process.execPath, [launcher, 'up', ...rest]);
    if (!rest.includes('--infra')) {
      seed();
      console.log(`
Order API and its docs: http://127.0.0.1:3000/docs   (inventory :3001/docs, payment :3002/docs, provider :4010/docs)
Place an order and watch it confirm:
  curl -s -X POST http://127.0.0.1:3000/orders -H 'content-type: application/json' -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" \\
       -d '{"customerId":"alice","lines":[{"sku":"BOOK-DDD","quantity":1}],"currency":"EUR"}'
  curl -s http://127.0.0.1:3000/orders/<orderId>
`);
    }
    say('stop everything with: npm run down');
    break;
  case 'seed':
    seed();
    break;
  case 'down':
    if (!existsSync(launcher)) {
      say('nothing was built, so nothing was started');
      break;
    }
    must(process.execPath, [launcher, 'down']);
    // A test run interrupted before its cleanup may have left the test profile running.
    must(process.execPath, [launcher, 'down'], {
      env: { ...process.env, PLATFORM_PROFILE: 'test' },
    });
    break;
  case 'status':
  case 'infra':
    if (!existsSync(launcher)) build();
    must(process.execPath, [launcher, ...(command === 'status' ? ['status'] : rest)]);
    break;
  case 'test':
    runTests(rest);
    break;
  default:
    console.error(
      `usage: node scripts/platform.mjs <setup|up [--infra]|down|status|seed|infra ...|test [--tier unit,int,e2e]>`,
    );
    process.exit(command === 'help' ? 0 : 2);
}
