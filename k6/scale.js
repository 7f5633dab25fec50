// Scale suite: the same reads against a store that grows, size after size.
//
// One VU grows the store to each size of the profile in turn (`sizes`: runs in the store), then
// times `reads` iterations of the reads at that size before growing it again. Growing is not timed:
// its requests are named `Seed@<size>/<request>`, which the summary leaves out and the seeding report
// counts. Every timed read is named `<read>@<size>` and checks that it got all of the data the store
// holds at that size (the same on every target), so that no server looks fast by returning less.
//
// At each size the store holds `size` runs in experiments of `sizes[0]` runs each (every run: 5 params,
// 3 tags, a 10-step `loss` history and 2 single metrics), and one run with a long `loss` history of
// 10 x `size` points.
// Run by hand: k6 run k6/scale.js -e BASE_URL=http://127.0.0.1:5000 -e SIZES=5,50,500 -e READS=2
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { session, settings, suiteOptions, uniqueName } from './lib/mlflow.js';

export const options = suiteOptions('scale');

const { sizes, reads } = settings('scale');
const server = session(); // one VU, one server: the scale suite is not interleaved
const RUNS_PER_EXPERIMENT = sizes[0];
const HISTORY_STEPS = 10; // of every run's `loss`
const LONG_HISTORY_PER_RUN = 10; // the long history holds 10 points per run in the store
const PAGE = 1000; // results per page: MLflow's log-batch and most search limits
const SEED_PARALLEL = 16; // requests in flight while seeding (http.batch)
const CHART_RUNS = 100; // the MLflow UI charts at most 100 runs at once
const API = server.api;

// One Counter row per failed seeding request: the runner reports the size and the request it names.
const seedFailures = new Counter('seed_failures');

// The store as this VU grew it (a VU keeps its module state from one iteration to the next).
const store = { prefix: uniqueName('k6-scale'), experiments: [], runs: [], longRuns: {}, grown: -1, failed: {} };

export default function () {
  const step = Math.min(Math.floor(__ITER / reads), sizes.length - 1);
  while (store.grown < step) {
    grow(store.grown + 1);
  }
  const size = sizes[step];
  if (store.failed[size]) {
    return; // its reads would check against data that is not all there
  }
  readAll(size);
}

// --- growing the store (untimed) --------------------------------------------------------------------

function grow(step) {
  const size = sizes[step];
  store.grown = step;
  const label = `Seed@${size}`;
  try {
    while (store.experiments.length < Math.ceil(size / RUNS_PER_EXPERIMENT)) {
      const name = `${store.prefix}-e${String(store.experiments.length).padStart(5, '0')}`;
      const body = seed(label, 'CreateExperiment', [['POST', `${API}/experiments/create`, { name }]]);
      store.experiments.push(body[0].experiment_id);
    }
    for (let first = store.runs.length; first < size; first += SEED_PARALLEL) {
      const indexes = range(first, Math.min(first + SEED_PARALLEL, size));
      const created = seed(
        label,
        'CreateRun',
        indexes.map((i) => ['POST', `${API}/runs/create`, newRun(i)]),
      );
      const runIds = created.map((b) => b.run.info.run_id);
      seed(
        label,
        'LogBatch',
        indexes.map((i, k) => ['POST', `${API}/runs/log-batch`, runData(runIds[k], i)]),
      );
      store.runs.push(...runIds);
    }
    store.longRuns[size] = seedLongHistory(label, size);
  } catch (e) {
    store.failed[size] = String(e);
    console.error(`scale: growing the store to size ${size} failed: ${e}`);
    // Part of a batch may have been written: the next size grows a new store from nothing, under a
    // new name, so that its reads find exactly the data they count on.
    Object.assign(store, { prefix: uniqueName('k6-scale'), experiments: [], runs: [] });
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

function newRun(i) {
  const experimentId = store.experiments[Math.floor(i / RUNS_PER_EXPERIMENT)];
  const tags = [
    { key: 'mlflow.user', value: 'k6' },
    { key: 'team', value: `team-${i % 4}` },
    { key: 'stage', value: i % 3 === 0 ? 'tuning' : 'training' },
  ];
  return { experiment_id: experimentId, start_time: 1700000000000 + i, tags };
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

/** A run in experiment 0 with a `loss` history of 10 x size points, logged PAGE points per request. */
function seedLongHistory(label, size) {
  const [created] = seed(label, 'CreateLongRun', [
    ['POST', `${API}/runs/create`, { experiment_id: store.experiments[0], start_time: 1700000000000, tags: [] }],
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
    batches.push(['POST', `${API}/runs/log-batch`, { run_id: runId, metrics }]);
  }
  for (let first = 0; first < batches.length; first += SEED_PARALLEL) {
    seed(label, 'LogLongHistory', batches.slice(first, first + SEED_PARALLEL));
  }
  return runId;
}

// --- the timed reads -------------------------------------------------------------------------------

function readAll(size) {
  const experimentIds = store.experiments.slice(0, Math.ceil(size / RUNS_PER_EXPERIMENT));
  searchExperiments(size, experimentIds.length);
  searchRuns(size, experimentIds);
  const runId = store.runs[Math.floor(Math.random() * size)];
  server.get(`GetRun@${size}`, 'runs/get', { run_id: runId }, (b) => b.run.info.run_id === runId && b.run.data.params.length === 5);
  metricHistory(size);
  chartHistories(size);
}

/** Experiments of this store by name, paged through with page_token; checks that all of them came. */
function searchExperiments(size, expected) {
  const name = `SearchExperiments@${size}`;
  const found = pages(name, 'experiments/search', { filter: `name LIKE '${store.prefix}-e%'`, max_results: PAGE }, 'experiments');
  check(found, { 'every experiment': (n) => n === expected }, { name });
}

/** The even runs of the store's experiments, best accuracy first, paged through; checks the count and the order. */
function searchRuns(size, experimentIds) {
  const name = `SearchRuns@${size}`;
  const body = {
    experiment_ids: experimentIds,
    filter: "params.group = 'even'",
    order_by: ['metrics.accuracy DESC'],
    max_results: PAGE,
  };
  let previous = Infinity;
  let ordered = true;
  const found = pages(name, 'runs/search', body, 'runs', (runs) => {
    for (const run of runs) {
      const accuracy = (run.data.metrics || []).find((m) => m.key === 'accuracy');
      ordered = ordered && accuracy !== undefined && accuracy.value <= previous;
      previous = accuracy ? accuracy.value : previous;
    }
  });
  check(found, { 'every even run, best first': (n) => n === Math.ceil(size / 2) && ordered }, { name });
}

/** The long history of this size, following next_page_token where the server pages. */
function metricHistory(size) {
  const name = `MetricHistory@${size}`;
  const query = { run_id: store.longRuns[size], metric_key: 'loss', max_results: 25000 };
  let found = 0;
  for (let token = null, page = 0; page < 1000; page++) {
    const body = server.get(name, 'metrics/get-history', token ? { ...query, page_token: token } : query, (b) => typeof b === 'object');
    if (!body) {
      return;
    }
    found += (body.metrics || []).length;
    token = body.next_page_token;
    if (!token) {
      break;
    }
  }
  check(found, { 'every point': (n) => n === LONG_HISTORY_PER_RUN * size }, { name });
}

/** What the MLflow UI asks for to chart `loss` of many runs at once (at most 100): every point of each. */
function chartHistories(size) {
  const name = `ChartHistories@${size}`;
  const runIds = store.runs.slice(Math.max(0, size - CHART_RUNS), size);
  const query = { run_id: runIds, metric_key: 'loss', max_results: 25000 };
  server.get(name, 'metrics/get-history-bulk', query, (b) => (b.metrics || []).length === runIds.length * HISTORY_STEPS, true);
}

/** POST `body` to a search endpoint page after page (each page one timed request); the total found. */
function pages(name, path, body, field, onPage = () => {}) {
  let found = 0;
  for (let token = null, page = 0; page < 1000; page++) {
    const result = server.post(name, path, token ? { ...body, page_token: token } : body, (b) => typeof b === 'object');
    if (!result) {
      return -1;
    }
    const items = result[field] || [];
    onPage(items);
    found += items.length;
    token = result.next_page_token;
    if (!token) {
      break;
    }
  }
  return found;
}

function range(from, to) {
  return Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
}
