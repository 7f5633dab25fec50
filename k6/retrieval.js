// Retrieval suite: setup() writes a known dataset (not timed); each iteration reads it back the way
// the MLflow and Aim UIs do, and checks that the server returned all of it, not just a fast answer.
// Run by hand: k6 run k6/retrieval.js -e BASE_URL=http://127.0.0.1:5000 -e VUS=2 -e ITERATIONS=2
import { fail } from 'k6';
import { createExperiment, createRun, iterate, session, sides, suiteOptions, uniqueName } from './lib/mlflow.js';

const EXPERIMENTS = 3;
const RUNS_PER_EXPERIMENT = 10;
const HISTORY_STEPS = 100;
const METRIC_KEYS = ['loss', 'accuracy'];

function seedRun(on, experimentId, index) {
  const runId = createRun(on, experimentId, 'Setup/CreateRun');
  if (runId === null) {
    fail(`setup could not create run ${index} in experiment ${experimentId}`);
  }
  const timestamp = Date.now();
  const metrics = [];
  for (const key of METRIC_KEYS) {
    for (let step = 0; step < HISTORY_STEPS; step++) {
      metrics.push({ key, value: Math.random(), timestamp: timestamp + step, step });
    }
  }
  const params = [
    { key: 'group', value: index % 2 === 0 ? 'even' : 'odd' },
    { key: 'index', value: String(index) },
  ];
  if (!on.post('Setup/LogBatch', 'runs/log-batch', { run_id: runId, metrics, params })) {
    fail(`setup could not log to run ${runId}`);
  }
  on.post('Setup/UpdateRun', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: Date.now() });
  return runId;
}

// The dataset is written once per server: with DATASET_PREFIX set (the paired A/B sets it for every
// round), setup() reuses the dataset of that prefix when the server already holds it, so that the
// rounds of a comparison read the same data instead of growing it.
export function setup() {
  const prefix = __ENV.DATASET_PREFIX || uniqueName('k6-retrieval');
  const datasets = {};
  for (const side of sides()) {
    const on = session(side);
    datasets[side] = (__ENV.DATASET_PREFIX && findDataset(on, prefix)) || seedDataset(on, prefix);
  }
  return datasets;
}

function seedDataset(on, prefix) {
  const experimentIds = [];
  const runIds = [];
  for (let e = 0; e < EXPERIMENTS; e++) {
    const experimentId = createExperiment(on, `${prefix}-${e}`);
    experimentIds.push(experimentId);
    for (let r = 0; r < RUNS_PER_EXPERIMENT; r++) {
      runIds.push(seedRun(on, experimentId, r));
    }
  }
  return { prefix, experimentIds, runIds };
}

/** The dataset an earlier round seeded under `prefix`, or null when the server has none (or only part of one). */
function findDataset(on, prefix) {
  const found = on.post(
    'Setup/FindExperiments',
    'experiments/search',
    { filter: `name LIKE '${prefix}-%'`, max_results: 100 },
    (b) => typeof b === 'object',
  );
  const experiments = (found && found.experiments) || [];
  if (experiments.length !== EXPERIMENTS) {
    return null;
  }
  const experimentIds = experiments.map((e) => e.experiment_id);
  const runs = on.post(
    'Setup/FindRuns',
    'runs/search',
    { experiment_ids: experimentIds, max_results: 1000 },
    (b) => Array.isArray(b.runs) && b.runs.length === EXPERIMENTS * RUNS_PER_EXPERIMENT,
  );
  return runs ? { prefix, experimentIds, runIds: runs.runs.map((r) => r.info.run_id) } : null;
}

const EVEN_RUNS = EXPERIMENTS * Math.ceil(RUNS_PER_EXPERIMENT / 2);

const pick = (list) => list[Math.floor(Math.random() * list.length)];

// The reads of one iteration, in order, each of a random experiment or run of the dataset.
const STEPS = [
  [
    'SearchExperiments',
    ({ data, session: on }) =>
      on.post(
        'SearchExperiments',
        'experiments/search',
        { filter: `name LIKE '${data.prefix}-%'`, max_results: 100 },
        (b) => Array.isArray(b.experiments) && b.experiments.length === EXPERIMENTS,
      ),
  ],
  [
    'GetExperiment',
    ({ data, session: on }) => {
      const experimentId = pick(data.experimentIds);
      on.get('GetExperiment', 'experiments/get', { experiment_id: experimentId }, (b) => b.experiment.experiment_id === experimentId);
    },
  ],
  [
    'SearchRuns',
    ({ data, session: on }) =>
      on.post(
        'SearchRuns',
        'runs/search',
        { experiment_ids: data.experimentIds, filter: "params.group = 'even'", max_results: 100 },
        (b) => Array.isArray(b.runs) && b.runs.length === EVEN_RUNS,
      ),
  ],
  [
    'GetRun',
    ({ data, session: on }) => {
      const runId = pick(data.runIds);
      on.get(
        'GetRun',
        'runs/get',
        { run_id: runId },
        (b) => b.run.info.run_id === runId && b.run.data.metrics.length === METRIC_KEYS.length,
      );
    },
  ],
  [
    'MetricHistory',
    ({ data, session: on }) =>
      on.get(
        'MetricHistory',
        'metrics/get-history',
        { run_id: pick(data.runIds), metric_key: 'loss' },
        (b) => Array.isArray(b.metrics) && b.metrics.length === HISTORY_STEPS,
      ),
  ],
];

export const options = suiteOptions('retrieval', STEPS);

export default function (datasets) {
  iterate(STEPS, datasets);
}
