/**
 * npm run sim: the simulator's command line (simulator/cli.ts). `npm run sim -- --help`.
 */
import { main } from '../simulator/cli';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`sim: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
