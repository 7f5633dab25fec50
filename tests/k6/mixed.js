// Real failures for the statistics tests: `Good` always succeeds, `Missing` is a 404, `Short` is a
// 200 whose result count is wrong, so each kind of error can be checked in the summary.
import { session } from '../../k6/lib/mlflow.js';

const server = session();

export const options = { scenarios: { mixed: { executor: 'per-vu-iterations', vus: 1, iterations: 5 } } };

export default function () {
  server.post('Good', 'experiments/search', { max_results: 10 }, (b) => Array.isArray(b.experiments));
  server.get('Missing', 'runs/get', { run_id: 'no-such-run' });
  server.post('Short', 'experiments/search', { max_results: 10 }, (b) => b.experiments.length === 1000);
}
