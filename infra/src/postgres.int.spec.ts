import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { useLocalStack, type LocalStack } from './index';

class CreateGreetings1700000000000 implements MigrationInterface {
  name = 'CreateGreetings1700000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE greetings (id uuid PRIMARY KEY, text text NOT NULL)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE greetings`);
  }
}

async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL (private cluster from the launcher)', { timeout: 180_000 }, () => {
  let stack: LocalStack;
  const database = `it_infra_${randomUUID().replaceAll('-', '')}`;
  let url: string;

  before(async () => {
    stack = await useLocalStack();
    await query(stack.postgres.url, `CREATE DATABASE ${database}`);
    url = stack.postgres.databaseUrl(database);
  });

  after(async () => {
    await stack.postgres.start();
    await query(stack.postgres.url, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('when the stack starts, then each owning service has its own database', async () => {
    const rows = await query<{ datname: string }>(
      stack.postgres.url,
      'SELECT datname FROM pg_database',
    );
    const names = rows.map((r) => r.datname);
    assert.ok(names.includes('orders'));
    assert.ok(names.includes('payments'));
  });

  it('when TypeORM runs a migration, then the table exists and the migration is recorded once', async () => {
    const dataSource = new DataSource({
      type: 'postgres',
      url,
      migrations: [CreateGreetings1700000000000],
      synchronize: false,
    });
    await dataSource.initialize();
    try {
      const first = await dataSource.runMigrations({ transaction: 'each' });
      const second = await dataSource.runMigrations({ transaction: 'each' });
      assert.deepEqual(
        first.map((m) => m.name),
        ['CreateGreetings1700000000000'],
      );
      assert.equal(second.length, 0, 'an applied migration does not run again');
      await dataSource.query('INSERT INTO greetings (id, text) VALUES ($1, $2)', [
        randomUUID(),
        'hello',
      ]);
      const rows: { text: string }[] = await dataSource.query('SELECT text FROM greetings');
      assert.deepEqual(rows, [{ text: 'hello' }]);
    } finally {
      await dataSource.destroy();
    }
  });

  it('when the server is killed (-9) and restarted, then committed rows survive and new connections work', async () => {
    await stack.postgres.kill();
    assert.equal(stack.postgres.isRunning(), false);
    await stack.postgres.start();
    const dataSource = new DataSource({ type: 'postgres', url });
    await dataSource.initialize();
    try {
      const rows: { text: string }[] = await dataSource.query('SELECT text FROM greetings');
      assert.deepEqual(rows, [{ text: 'hello' }]);
    } finally {
      await dataSource.destroy();
    }
  });
});
