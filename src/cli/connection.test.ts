import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { NexyClientError } from '../client/nexy-client.js';
import { loadConfig } from '../config/load.js';
import { UsageError, type CliContext } from './command.js';
import { describeFailure, resolveServer } from './connection.js';

const config = loadConfig({ env: {} });
const context = (defaultServer?: string): CliContext => ({
  stdout: { write: () => true },
  stderr: { write: () => true },
  defaultServer,
  signals: process,
});

describe('CLI connection', () => {
  test('--server wins over NEXY_SERVER, which wins over client.server of the config', () => {
    assert.equal(resolveServer({ server: 'a.example:1' }, context('b.example:2'), config), 'a.example:1');
    assert.equal(resolveServer({}, context('b.example:2'), config), 'b.example:2');
    assert.equal(resolveServer({}, context(''), config), config.client.server);
    assert.equal(config.client.server, '127.0.0.1:50051');
  });

  test('HOST:PORT, [v6]:PORT and gRPC targets pass; anything else is a usage error', () => {
    for (const good of ['localhost:50051', '[::1]:50051', 'dns:///nexy.example:443', 'unix:/tmp/nexy.sock']) {
      assert.equal(resolveServer({ server: good }, context(), config), good);
    }
    for (const bad of ['localhost', 'host:0', 'host:70000', 'http://host:1', ':50051']) {
      assert.throws(() => resolveServer({ server: bad }, context(), config), UsageError, bad);
    }
  });

  test('failures are one line: the server message with the status name, or why the server is unreachable', () => {
    const fromServer = new NexyClientError(status.UNAVAILABLE, 'the language model is unreachable', { fromServer: true });
    assert.equal(describeFailure(fromServer, 'h:1'), 'nexy: the language model is unreachable (UNAVAILABLE)');
    const refused = new NexyClientError(
      status.UNAVAILABLE,
      'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ',
    );
    assert.equal(describeFailure(refused, '127.0.0.1:1'), 'nexy: cannot reach the server at 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1 (UNAVAILABLE)');
    assert.equal(describeFailure(new Error('first\nsecond')), 'nexy: first');
  });
});
