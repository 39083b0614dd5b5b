/**
 * npm run sim: the simulator's command line (simulator/cli.ts), with the bridge's battery
 * estimator attached (estimated_soc, the chart's state-of-charge panel). `npm run sim -- --help`.
 */
import { main } from '../simulator/cli';
import { bridgeSocEstimator } from './sim-estimator';

main(process.argv.slice(2), { socEstimator: bridgeSocEstimator }).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`sim: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
