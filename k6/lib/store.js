// The scale suite's store, which the ui suite reads too: the same runs, grown size after size.
//
// At each size the store holds `size` runs in experiments of `runsPerExperiment` runs each (every
// run: 5 params, 3 tags, a 10-step `loss` history and 2 single metrics; in a `named` store, run i is
// named run-<i>, which the UIs show), and
// one run with a long `loss` history of 10 x `size` points. Growing is not timed: its requests are
// named `Seed@<size>/<request>`, which the summary leaves out and the seeding report counts; a
// failed one adds a `seed_failures` row naming it.
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { uniqueName } from './mlflow.js';

export const HISTORY_STEPS = 10; // of every run's `loss`
export const LONG_HISTORY_PER_RUN = 10; // the long history holds 10 points per run in the store
const PAGE = 1000; // MLflow's log-batch limit: points per request of the long history
const SEED_PARALLEL = 16; // requests in flight while seeding (http.batch)

const seedFailures = new Counter('seed_failures');

/** An empty store on the server at `api` (the MLflow API's base URL). */
export function newStore(api, runsPerExperiment, named = false) {
  const store = { api, runsPerExperiment, named, experiments: [], runs: [], longRuns: {}, failed: {}, grown: -1 };
  return { ...store, prefix: uniqueName('k6-scale') };
}

/** The size iteration `iteration` reads at (`reads` iterations per size, in the order of `sizes`),
 * the store grown to it first when it is not yet; null when growing to it failed, as its reads would
 * check against data that is not all there. */
export function sizeOfIteration(store, sizes, reads, iteration) {
  const step = Math.min(Math.floor(iteration / reads), sizes.length - 1);
  while (store.grown < step) {
    store.grown += 1;
    grow(store, sizes[store.grown]);
  }
  return store.failed[sizes[step]] ? null : sizes[step];
}

/** Grow `store` to `size` runs (untimed); on a failure, `store.failed[size]` says why and the store
 * starts again from nothing under a new name, so that the next size finds exactly what it counts on. */
export function grow(store, size) {
  const label = `Seed@${size}`;
  try {
    while (store.experiments.length < Math.max(1, Math.ceil(size / store.runsPerExperiment))) {
      const name = `${store.prefix}-e${String(store.experiments.length).padStart(5, '0')}`;
      const body = seed(label, 'CreateExperiment', [['POST', `${store.api}/experiments/create`, { name }]]);
      store.experiments.push(body[0].experiment_id);
    }
    for (let first = store.runs.length; first < size; first += SEED_PARALLEL) {
      const indexes = range(first, Math.min(first + SEED_PARALLEL, size));
      const created = seed(
        label,
        'CreateRun',
        indexes.map((i) => ['POST', `${store.api}/runs/create`, newRun(store, i)]),
      );
      const runIds = created.map((b) => b.run.info.run_id);
      seed(
        label,
        'LogBatch',
        indexes.map((i, k) => ['POST', `${store.api}/runs/log-batch`, runData(runIds[k], i)]),
      );
      store.runs.push(...runIds);
    }
    store.longRuns[size] = seedLongHistory(store, label, size);
  } catch (e) {
    store.failed[size] = String(e);
    console.error(`growing the store to size ${size} failed: ${e}`);
    Object.assign(store, { prefix: uniqueName('k6-scale'), experiments: [], runs: [], longRuns: {} });
  }
}

/** Send `requests` ([method, url, body]) in parallel as `<label>/<request>`; their parsed bodies, or
 * a thrown error naming the size and the request when any of them failed. */
function seed(label, request, requests) {
  const name = `${label}/${request}`;
  const params = { headers: { 'Content-Type': 'application/json' }, tags: { name } };
  const responses = http.batch(requests.map(([method, url, body]) => [method, url, JSON.stringify(body), params]));
  return responses.map((res) => {
    if (res.status !== 200) {
      seedFailures.add(1, { name, error_code: String(res.status) });
      throw new Error(`${name}: HTTP ${res.status} ${String(res.body).slice(0, 200)}`);
    }
    return res.json();
  });
}

/** How many runs the store holds: its runs and its long-history runs (one per size grown). */
export function runsHeld(store) {
  return store.runs.length + Object.keys(store.longRuns).length;
}

/** The name of run `i`: what the UIs show in their run tables. */
export function runName(i) {
  return `run-${String(i).padStart(5, '0')}`;
}

function newRun(store, i) {
  const experimentId = store.experiments[Math.floor(i / store.runsPerExperiment)];
  const tags = [
    { key: 'mlflow.user', value: 'k6' },
    { key: 'team', value: `team-${i % 4}` },
    { key: 'stage', value: i % 3 === 0 ? 'tuning' : 'training' },
  ];
  const run = { experiment_id: experimentId, start_time: 1700000000000 + i, tags };
  return store.named ? { ...run, run_name: runName(i) } : run;
}

function runData(runId, i) {
  const params = [
    { key: 'group', value: i % 2 === 0 ? 'even' : 'odd' },
    { key: 'index', value: String(i) },
    { key: 'learning_rate', value: String(0.001 * (1 + (i % 10))) },
    { key: 'optimizer', value: i % 2 === 0 ? 'adam' : 'sgd' },
    { key: 'model', value: `model-${i % 7}` },
  ];
  const timestamp = 1700000000000;
  const metrics = range(0, HISTORY_STEPS).map((step) => ({ key: 'loss', value: 1 / (1 + step + i), timestamp, step }));
  // distinct accuracies, so that ordering by them is well defined on every server
  metrics.push({ key: 'accuracy', value: i / 1e6, timestamp, step: 0 });
  metrics.push({ key: 'epoch_seconds', value: 10 + (i % 5), timestamp, step: 0 });
  return { run_id: runId, params, metrics };
}

/** A run in the first experiment with a `loss` history of 10 x size points, PAGE points per request. */
function seedLongHistory(store, label, size) {
  const run = { experiment_id: store.experiments[0], start_time: 1700000000000, tags: [] };
  const [created] = seed(label, 'CreateLongRun', [
    ['POST', `${store.api}/runs/create`, store.named ? { ...run, run_name: `long-${size}` } : run],
  ]);
  const runId = created.run.info.run_id;
  const points = LONG_HISTORY_PER_RUN * size;
  const batches = [];
  for (let first = 0; first < points; first += PAGE) {
    const metrics = range(first, Math.min(first + PAGE, points)).map((step) => ({
      key: 'loss',
      value: 1 / (1 + step),
      timestamp: 1700000000000 + step,
      step,
    }));
    batches.push(['POST', `${store.api}/runs/log-batch`, { run_id: runId, metrics }]);
  }
  for (let first = 0; first < batches.length; first += SEED_PARALLEL) {
    seed(label, 'LogLongHistory', batches.slice(first, first + SEED_PARALLEL));
  }
  return runId;
}

export function range(from, to) {
  return Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
}
