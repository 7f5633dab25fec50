// A k6 script written the way the original suite wrote its own, not with this suite's helpers: plain
// http calls tagged with a name, a status check, k6's default CSV time format (unix seconds). The
// import tests run it against a real server and report its CSV with `./run.sh report --import`.
import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE = `${__ENV.BASE_URL || 'http://127.0.0.1:5000'}/api/2.0/mlflow`;
const HEADERS = { headers: { 'Content-Type': 'application/json' } };

export const options = { vus: 2, iterations: 10 };

export function setup() {
  const res = http.post(`${BASE}/experiments/create`, JSON.stringify({ name: `imported-${Date.now()}` }), HEADERS);
  return { experimentId: res.json('experiment_id') };
}

export default function (data) {
  const run = http.post(
    `${BASE}/runs/create`,
    JSON.stringify({ experiment_id: data.experimentId, start_time: Date.now() }),
    { ...HEADERS, tags: { name: 'CreateRun' } },
  );
  check(run, { 'status is 200': (r) => r.status === 200 });
  const search = http.post(
    `${BASE}/experiments/search`,
    JSON.stringify({ max_results: 10 }),
    { ...HEADERS, tags: { name: 'SearchExperiments' } },
  );
  check(search, { 'status is 200': (r) => r.status === 200 });
  sleep(0.3); // the run spans whole seconds, the unit of k6's default CSV timestamps
}
