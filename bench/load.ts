/**
 * `npm run bench:load` (or `npm run bench -- --load`): the load benchmark of bench/load/. Prints;
 * never asserts. Settings from the environment: NEXY_LOAD_LEVELS (10,25,50,100,200,400),
 * NEXY_LOAD_BUFFER_MS (200), NEXY_LOAD_SPREAD_MS (1000), NEXY_LOAD_PIECE_DELAY_MS (10),
 * NEXY_LOAD_LEVEL_TIMEOUT_MS (120000), NEXY_LOAD_STOP_AFTER (2; 0 runs every level); NEXY_CONFIG
 * merges a config file over the shipped one.
 */
import { loadSettingsFromEnv, runLoadBench } from './load/load-bench.js';

runLoadBench(loadSettingsFromEnv()).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`load bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
