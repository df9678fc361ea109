/** `npm run bench:scale-out`: only the several-instances figures of `npm run bench`. */
import { benchScaleOut, formatScaleOut } from './scale-out-bench.js';

benchScaleOut().then(
  (figures) => {
    process.stdout.write(formatScaleOut(figures));
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
