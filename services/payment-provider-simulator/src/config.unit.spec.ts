import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readConfig } from './config';

describe('readConfig', () => {
  it('when nothing is set, then port 4010 on 127.0.0.1 without a ledger file', () => {
    assert.deepEqual(readConfig({}), { port: 4010, host: '127.0.0.1', ledgerFile: undefined });
  });

  it('when PORT, HOST and LEDGER_FILE are set, then they are used', () => {
    assert.deepEqual(readConfig({ PORT: '0', HOST: '0.0.0.0', LEDGER_FILE: '/tmp/l.jsonl' }), {
      port: 0,
      host: '0.0.0.0',
      ledgerFile: '/tmp/l.jsonl',
    });
  });

  it('when PORT is not a port number, then it fails with the variable named', () => {
    for (const PORT of ['http', '70000', '-1', '']) {
      assert.throws(() => readConfig({ PORT }), /invalid environment: .*PORT/s);
    }
  });
});
