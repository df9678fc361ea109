import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { workerFlags } from './worker-file.js';

test('regression: process-wide V8 flags (npm start passes --max-semi-space-size) are not handed to worker threads', () => {
  assert.deepEqual(workerFlags(['--max-semi-space-size=2', '--import', 'tsx']), ['--import', 'tsx']);
  assert.deepEqual(workerFlags(['--expose-gc', '--max-old-space-size', '512', '--enable-source-maps']), ['--enable-source-maps']);
  assert.deepEqual(workerFlags(['--import', 'tsx', '--conditions=dev']), ['--import', 'tsx', '--conditions=dev']);
});

test('a worker starts with the flags kept from a command line like npm start’s', async () => {
  const worker = new Worker('require("node:worker_threads").parentPort.postMessage("up")', {
    eval: true,
    execArgv: workerFlags(['--max-semi-space-size=2', '--expose-gc']),
  });
  const [message] = await Promise.all([new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject))]);
  assert.equal(message, 'up');
  await worker.terminate();
});
