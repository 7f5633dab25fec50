// Capacity suite: an open-model load. Requests arrive at a fixed rate whatever the server's pace,
// and the rate steps up: each step of the profile's `rates` (requests per second) is a
// constant-arrival-rate scenario of its own, `rate-<rate>`, held `hold` seconds, so that every
// request is tagged with the step it belongs to. The first `settle` share of each step is left out by
// the analysis (analysis/capacity.py), which finds the highest step the server sustained.
// Before the first step, an untimed warm-up at the first rate for as long as a step: a cold server
// (MLflow/SQLite's first requests took about 1 s) must not decide the first step. Its requests are
// named `Warmup@<request>`, which the summary leaves out, like the setup's.
//
// The mix is fixed and realistic: mostly logging, with some reads (MIX below). setup() creates an
// experiment and a pool of runs with some history for the reads and the logging to go to.
// When a step shows the server has fallen over (half the requests failing, or a p95 of 5 s), k6
// aborts the rest of the ramp: exit code 99, which the runner takes as the end of the ramp.
// Run by hand: k6 run k6/capacity.js -e BASE_URL=http://127.0.0.1:5000 -e RATES=5,10,20 -e HOLD=4
import exec from 'k6/execution';
import { createExperiment, createRun, session, settings, uniqueName } from './lib/mlflow.js';

const { rates, hold } = settings('capacity');
const server = session();
const FALLEN_OVER_P95_MS = 5000;
const POOL = 20; // runs the load logs to and reads from
const HISTORY_STEPS = 100;
const WARMUP = 'warmup'; // the scenario before the first step

// request name -> share of arrivals
const MIX = [
  ['LogMetric', 0.35],
  ['LogBatch10', 0.25],
  ['CreateRun', 0.1],
  ['SetTag', 0.1],
  ['GetRun', 0.1],
  ['SearchRuns', 0.05],
  ['MetricHistory', 0.05],
];

export const options = {
  scenarios: {
    [WARMUP]: step(rates[0], 0),
    ...Object.fromEntries(rates.map((rate, k) => [stepName(rate), step(rate, k + 1)])),
  },
  thresholds: Object.fromEntries(
    rates.flatMap((rate) => [
      [`http_req_failed{scenario:${stepName(rate)}}`, [{ threshold: 'rate<0.5', abortOnFail: true, delayAbortEval: '3s' }]],
      [
        `http_req_duration{scenario:${stepName(rate)}}`,
        [{ threshold: `p(95)<${FALLEN_OVER_P95_MS}`, abortOnFail: true, delayAbortEval: '3s' }],
      ],
    ]),
  ),
  setupTimeout: '10m',
  systemTags: ['status', 'method', 'name', 'group', 'check', 'error', 'error_code', 'scenario', 'expected_response'],
  summaryTrendStats: ['avg', 'med', 'p(95)', 'max'],
};

function stepName(rate) {
  return `rate-${String(rate).padStart(5, '0')}`;
}

function step(rate, k) {
  return {
    executor: 'constant-arrival-rate',
    rate,
    timeUnit: '1s',
    duration: `${hold}s`,
    startTime: `${k * hold}s`,
    // enough VUs for every arrival while each request takes up to a second; k6 counts any arrival it
    // could not start as `dropped_iterations`, which the analysis reports as not offered
    preAllocatedVUs: Math.max(5, Math.ceil(rate / 10)),
    maxVUs: Math.max(10, rate),
    gracefulStop: '2s',
  };
}

export function setup() {
  const experimentId = createExperiment(server, uniqueName('k6-capacity'));
  const runIds = [];
  for (let i = 0; i < POOL; i++) {
    const runId = createRun(server, experimentId, 'Setup/CreateRun');
    const metrics = [];
    for (let s = 0; s < HISTORY_STEPS; s++) {
      metrics.push({ key: 'loss', value: 1 / (1 + s), timestamp: Date.now(), step: s });
    }
    server.post('Setup/LogBatch', 'runs/log-batch', { run_id: runId, metrics });
    runIds.push(runId);
  }
  return { experimentId, runIds };
}

export default function (data) {
  const runId = data.runIds[Math.floor(Math.random() * data.runIds.length)];
  const name = exec.scenario.name === WARMUP ? `Warmup@${pick()}` : pick();
  const now = Date.now();
  if (name === 'LogMetric') {
    server.post(name, 'runs/log-metric', { run_id: runId, key: 'load', value: Math.random(), timestamp: now, step: __ITER });
  } else if (name === 'LogBatch10') {
    const metrics = [];
    for (let k = 0; k < 10; k++) {
      metrics.push({ key: `load_${k}`, value: Math.random(), timestamp: now, step: __ITER });
    }
    server.post(name, 'runs/log-batch', { run_id: runId, metrics });
  } else if (name === 'CreateRun') {
    createRun(server, data.experimentId, name);
  } else if (name === 'SetTag') {
    server.post(name, 'runs/set-tag', { run_id: runId, key: 'note', value: `v${__ITER}` });
  } else if (name === 'GetRun') {
    server.get(name, 'runs/get', { run_id: runId }, (b) => b.run.info.run_id === runId);
  } else if (name === 'SearchRuns') {
    server.post(name, 'runs/search', { experiment_ids: [data.experimentId], max_results: 50 }, (b) => Array.isArray(b.runs));
  } else {
    server.get(name, 'metrics/get-history', { run_id: runId, metric_key: 'loss' }, (b) => (b.metrics || []).length >= HISTORY_STEPS);
  }
}

function pick() {
  let r = Math.random();
  for (const [name, share] of MIX) {
    r -= share;
    if (r < 0) {
      return name;
    }
  }
  return MIX[MIX.length - 1][0];
}
