// Scale suite: the same reads against a store that grows, size after size.
//
// One VU grows the store to each size of the profile in turn (`sizes`: runs in the store), then
// times `reads` iterations of the reads at that size before growing it again. Growing is not timed:
// its requests are named `Seed@<size>/<request>`, which the summary leaves out and the seeding report
// counts. Every timed read is named `<read>@<size>` and checks that it got all of the data the store
// holds at that size (the same on every target), so that no server looks fast by returning less.
//
// At each size the store (k6/lib/store.js) holds `size` runs in experiments of `sizes[0]` runs each
// (every run: 5 params, 3 tags, a 10-step `loss` history and 2 single metrics), and one run with a
// long `loss` history of 10 x `size` points.
// Run by hand: k6 run k6/scale.js -e BASE_URL=http://127.0.0.1:5000 -e SIZES=5,50,500 -e READS=2
import { check } from 'k6';
import { session, settings, suiteOptions } from './lib/mlflow.js';
import { HISTORY_STEPS, LONG_HISTORY_PER_RUN, newStore, sizeOfIteration } from './lib/store.js';

export const options = suiteOptions('scale');

const { sizes, reads } = settings('scale');
const server = session(); // one VU, one server: the scale suite is not interleaved
const PAGE = 1000; // results per page: most search limits
const CHART_RUNS = 100; // the MLflow UI charts at most 100 runs at once

// The store as this VU grew it (a VU keeps its module state from one iteration to the next).
const store = newStore(server.api, sizes[0]);

export default function () {
  const size = sizeOfIteration(store, sizes, reads, __ITER);
  if (size === null) {
    return; // growing the store to this size failed
  }
  readAll(size);
}

// --- the timed reads -------------------------------------------------------------------------------

function readAll(size) {
  const experimentIds = store.experiments.slice(0, Math.ceil(size / store.runsPerExperiment));
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
