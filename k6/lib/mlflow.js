// Shared helpers for the MLflow REST API (version 2.0 paths, spoken by MLflow and FastTrackML alike).
//
// Every request is tagged with its `name`: that tag is the key of every table and chart.
// Every response is checked: first its status, then (only when the status is right) its shape.
// A check that fails is an error, counted per request name by the summary; it is never a latency:
// the duration of a request enters `successful_request_duration` only when all its checks pass.
import http from 'k6/http';
import { check } from 'k6';
import { Trend } from 'k6/metrics';

const successfulDuration = new Trend('successful_request_duration', true);

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:5000').replace(/\/+$/, '');
const JSON_HEADERS = { 'Content-Type': 'application/json' };

// Only in the suite's own slowdown experiments (perf/ab_quality.py sets BENCH_NAME_HEADER=1): each
// request names itself in a header, so that perf/delay_proxy.py can slow each request name by its
// own known amount. Off by default: the measured workload carries no extra header.
const NAME_HEADER = __ENV.BENCH_NAME_HEADER === '1';

function headersFor(name, headers = {}) {
  return NAME_HEADER ? { ...headers, 'X-Bench-Name': name } : headers;
}

// A paired A/B can interleave two servers in one k6 process: BASE_URL is side A and BASE_URL_B side
// B. Each iteration then goes to one side (`sideOfIteration`), and every request, check and latency
// is tagged with that side, so that both sides are measured at the same moments.
const BASE_URL_B = (__ENV.BASE_URL_B || '').replace(/\/+$/, '');
export const INTERLEAVED = BASE_URL_B !== '';

/** One server's MLflow API: where its requests go and the tags each carries besides its `name`.
 * Every request is checked (`verify`) and tagged with its name; a session of a paired A/B that
 * interleaves two servers tags its requests with its `side` as well. */
export class Session {
  constructor(baseUrl, tags = {}) {
    this.baseUrl = baseUrl;
    this.api = `${baseUrl}/api/2.0/mlflow`;
    this.ajax = `${baseUrl}/ajax-api/2.0/mlflow`;
    this.tags = tags;
  }

  /** The tags of a request named `name`. */
  tagged(name) {
    return { name, ...this.tags };
  }

  /** POST `body` as JSON to `path` under the MLflow API; the parsed response, or null on any failure. */
  post(name, path, body, shape = isObject) {
    const params = { headers: headersFor(name, JSON_HEADERS), tags: this.tagged(name) };
    const res = http.post(`${this.api}/${path}`, JSON.stringify(body), params);
    return verify(res, this.tagged(name), shape);
  }

  /** GET `path` with `query` (an object of parameters; an array value repeats its key); the parsed
   * response, or null on any failure. `ajax` sends it under /ajax-api, where the MLflow UI's own reads live. */
  get(name, path, query, shape = isObject, ajax = false) {
    const qs = Object.entries(query)
      .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${encodeURIComponent(k)}=${encodeURIComponent(one)}`))
      .join('&');
    const base = ajax ? this.ajax : this.api;
    const res = http.get(`${base}/${path}?${qs}`, { headers: headersFor(name), tags: this.tagged(name) });
    return verify(res, this.tagged(name), shape);
  }
}

const SESSIONS = INTERLEAVED
  ? { A: new Session(BASE_URL, { side: 'A' }), B: new Session(BASE_URL_B, { side: 'B' }) }
  : { A: new Session(BASE_URL) };

/** The session of `side` (A: BASE_URL, the only one unless a paired A/B interleaves B). */
export function session(side = 'A') {
  return SESSIONS[side];
}

/** The sides this run measures: both when interleaved, else A (BASE_URL) alone. */
export function sides() {
  return INTERLEAVED ? ['A', 'B'] : ['A'];
}

/** The side of this iteration: each VU runs A B B A A B B A ..., VUs out of step, so both sides carry
 * the same load, and each side as often follows itself as the other: a server whose answer depends on
 * how long its connection was idle (MLflow under uvicorn's workers: Nagle's delay unless the
 * connection rested 40 ms) cannot lock one side fast and the other slow, as strict A B A B did. Which
 * side a VU starts on flips from one round (ROUND) to the next, so that neither is always first. */
export function sideOfIteration() {
  const turn = Math.floor((__ITER + 1) / 2) + __VU + Number(__ENV.ROUND || 0);
  return INTERLEAVED && turn % 2 === 1 ? 'B' : 'A';
}

// A paired A/B can isolate each request name (ISOLATE=1). A suite's iteration is then cut into its
// requests: every VU first runs the iterations of the first request only, then of the second ...,
// so that no request waits behind another kind's work on the server. SEGMENT_ITERATIONS gives each
// request name's iterations per VU (`GetRun:40,SearchRuns:52,...`; ITERATIONS for a name it omits),
// so that a fast request gets as much time, and as many samples, as a slow one.
// A suite whose steps hand data on (a step marked { feeds: true }: the run CreateRun makes, which
// the others log to) keeps what each iteration of the feeding step leaves, per VU and side, and
// iteration k of every later step uses what iteration k left: the feeding step runs as many
// iterations as the most of any step, so that every iteration has its run. The first `full` runs
// (full: the fewest iterations of any step) receive every step, in the order of a mixed iteration;
// a step marked { onFull: true } (UpdateRun) only ever meets those, iteration k the run k mod full.
// (With UpdateRuns on runs that held one metric instead of a mixed iteration's 1,700, FastTrackML
// 0.5.1's slow update of a full run went unseen. Before the feeding step could run more, every
// step ran as often, and a 0.7 ms CreateRun had as few samples as a 60 ms LogMetricBatch500.)
// Before each request name's segment and after the last, the VUs meet at the runner's barrier
// (SEGMENT_URL): the runner reads both servers' CPU there.
export const ISOLATED = __ENV.ISOLATE === '1';
const SEGMENT_URL = (__ENV.SEGMENT_URL || '').replace(/\/+$/, '');
const carried = { A: [], B: [] }; // isolated: per side, what iteration k of the feeding step leaves for the steps after it

/** Iterations per VU of each of `steps`' segments, in order. */
function segmentIterations(steps) {
  const asked = Object.fromEntries(
    (__ENV.SEGMENT_ITERATIONS || '')
      .split(',')
      .filter((pair) => pair.includes(':'))
      .map((pair) => [pair.split(':')[0], Number(pair.split(':')[1])]),
  );
  const counts = steps.map(([name]) => asked[name] || Number(__ENV.ITERATIONS));
  const most = Math.max(...counts);
  return steps.map(([, , how], i) => (how && how.feeds ? most : counts[i]));
}

/** The iterations per VU and side of a segment of `count` iterations: both sides' turns share them when interleaved. */
function perSide(index) {
  return INTERLEAVED ? Math.floor(index / 2) : index;
}

/**
 * Run one iteration of a suite made of `steps`, a list of [request name, step, { feeds, onFull }?], on this
 * iteration's side. A step is called with { data: setup()'s data of the side, state: an object it may
 * fill for the steps after it, session: the side's Session }. Mixed (the default): every step, in order. Isolated: the step of
 * this iteration's segment.
 */
export function iterate(steps, data) {
  const side = sideOfIteration();
  const on = session(side);
  if (!ISOLATED) {
    const state = {};
    for (const [, step] of steps) {
      step({ data: data[side], state, session: on });
    }
    return;
  }
  const counts = segmentIterations(steps);
  let segment = 0;
  let index = __ITER;
  while (index >= counts[segment]) {
    index -= counts[segment];
    segment += 1;
  }
  const [name, step, how] = steps[segment];
  if (index === 0) {
    meet(name);
  }
  const full = perSide(Math.min(...counts));
  const k = how && how.onFull ? perSide(index) % Math.max(full, 1) : perSide(index);
  carried[side][k] = carried[side][k] || {};
  step({ data: data[side], state: carried[side][k], session: on });
  if (segment === steps.length - 1 && index === counts[segment] - 1) {
    meet('end');
  }
}

/** Wait at the runner's barrier `label` until every VU is there (no-op without SEGMENT_URL); the
 * runner reads the server's CPU at each. */
export function meet(label) {
  if (SEGMENT_URL) {
    http.get(`${SEGMENT_URL}/${encodeURIComponent(label)}`, { tags: { name: `Segment@${label}` }, timeout: '300s' });
  }
}

// The suite's settings arrive as values: the runner resolves k6/profiles.json (the profile, the
// suite's own entry, the run's options) and passes VUS, ITERATIONS, MAX_DURATION and the scale and
// capacity suites' SIZES, READS, RATES and HOLD. Run by hand, give them with -e (VUS and ITERATIONS
// default to 1); a suite that needs one that is missing says which.
export function settings(suite) {
  const numbers = (text) => (text ? text.split(',').map(Number) : undefined);
  const found = {
    vus: Number(__ENV.VUS || 1),
    iterations: Number(__ENV.ITERATIONS || 1),
    maxDuration: __ENV.MAX_DURATION || '10m',
    sizes: numbers(__ENV.SIZES),
    reads: __ENV.READS ? Number(__ENV.READS) : undefined,
    rates: numbers(__ENV.RATES),
    hold: __ENV.HOLD ? Number(__ENV.HOLD) : undefined,
  };
  for (const name of NEEDS[suite] || []) {
    if (found[name] === undefined) {
      throw new Error(`${suite}: ${name.toUpperCase()} is not set (give -e ${name.toUpperCase()}=..., or run it with ./run.sh)`);
    }
  }
  if (found.sizes && !__ENV.ITERATIONS) found.iterations = found.sizes.length * found.reads;
  return found;
}

const NEEDS = { scale: ['sizes', 'reads'], ui: ['sizes', 'reads'], capacity: ['rates', 'hold'] };

// Options for a suite: one `per-vu-iterations` scenario named after the suite, so every VU runs
// exactly `iterations` iterations (k6's default shared-iterations executor would split them instead);
// isolated, those of each of its `steps`' segments.
export function suiteOptions(suite, steps = []) {
  const profile = settings(suite);
  const isolated = ISOLATED && steps.length > 0;
  return {
    scenarios: {
      [suite]: {
        executor: 'per-vu-iterations',
        vus: profile.vus,
        iterations: isolated ? segmentIterations(steps).reduce((a, b) => a + b, 0) : profile.iterations,
        maxDuration: profile.maxDuration,
      },
    },
    setupTimeout: '10m',
    // Keep the tags that tell requests apart; drop the per-run URL so the CSV stays small.
    systemTags: ['status', 'method', 'name', 'group', 'check', 'error', 'error_code', 'scenario', 'expected_response'],
    summaryTrendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  };
}

function verify(res, tags, shape) {
  const statusOk = check(res, { 'status is 200': (r) => r.status === 200 }, tags);
  if (!statusOk) {
    return null;
  }
  let body;
  try {
    body = res.json();
  } catch (e) {
    body = undefined;
  }
  const shapeOk = check(body, { 'response shape': (b) => b !== undefined && b !== null && shape(b) }, tags);
  if (!shapeOk) {
    return null;
  }
  successfulDuration.add(res.timings.duration, tags);
  return body;
}

export function isObject(b) {
  return typeof b === 'object';
}

/** `count` metrics per key for `keys` keys: the payload of the LogMetricBatch requests. */
export function metricBatch(prefix, keys, steps) {
  const timestamp = Date.now();
  const metrics = [];
  for (let k = 0; k < keys; k++) {
    for (let step = 0; step < steps; step++) {
      metrics.push({ key: `${prefix}_${k}`, value: Math.random(), timestamp, step });
    }
  }
  return metrics;
}

/** `count` distinct params named `<prefix>_<i>`. */
export function paramBatch(prefix, count) {
  const params = [];
  for (let i = 0; i < count; i++) {
    params.push({ key: `${prefix}_${i}`, value: `value_${i}` });
  }
  return params;
}

/** Creates an experiment named `name` on session `on` and returns its id; throws when that fails (a setup error). */
export function createExperiment(on, name, label = 'Setup/CreateExperiment') {
  const body = on.post(label, 'experiments/create', { name }, (b) => typeof b.experiment_id === 'string');
  if (!body) {
    throw new Error(`could not create experiment '${name}' at ${on.baseUrl}`);
  }
  return body.experiment_id;
}

/** Creates a run in `experimentId` tagged mlflow.user=k6; returns its run id or null. */
export function createRun(on, experimentId, name = 'CreateRun') {
  const body = on.post(
    name,
    'runs/create',
    { experiment_id: experimentId, start_time: Date.now(), tags: [{ key: 'mlflow.user', value: 'k6' }] },
    (b) => b.run !== undefined && typeof b.run.info.run_id === 'string',
  );
  return body ? body.run.info.run_id : null;
}

/** Unique enough across runs and VUs: the servers keep experiment names unique. */
export function uniqueName(prefix) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
}
