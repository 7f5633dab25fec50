// UI suite: what a user waits for in the server's web UI, in a real browser (k6's browser module
// driving chromium), against the scale suite's store (k6/lib/store.js) as it grows.
//
// One VU grows the store to each size of the profile in turn (`sizes`: runs, all in one experiment,
// so that the experiment page has them all), then times `reads` iterations of the views at that
// size. Each view is a fresh navigation to its page (after about:blank), timed from the navigation's
// start to the first animation frame in which the page shows what the view is for, and checked for
// what it shows, so that no server looks fast by rendering less:
//
// - `ExperimentPage@<size>`: the experiment's run table, until it lists its runs; checks the count
//   the table gives (the UI loads 100 at a time) and that the newest run is first;
// - `CompareRuns@<size>`: the run-compare page of the 100 newest runs, until its parallel-coordinates
//   chart is drawn and every run is in its table; checks that all 100 are;
// - `MetricPage@<size>`: the metric page of the run with the long `loss` history (10 x size points),
//   until its chart is drawn and its table gives the last step; checks that it is the last one logged;
// - `AimMetrics@<size>` (FastTrackML's Aim UI, where AIM_PATH is set): the metrics explorer charting
//   `loss` of every run in the experiment, until every line is drawn.
//
// Every request a view made until it was shown is recorded from the page's Resource Timing:
// `rest_call_duration` and `rest_call_bytes` per request, named by the view, with the endpoint in a
// tag (the MLflow REST path, or "static files"); each view adds one `operations` row.
// Each iteration runs in a new browser whose cache is first filled by an untimed load of the UI.
// Around each view the VU meets the runner's barrier (SEGMENT_URL), where the runner reads the
// server's CPU: what the view cost the server (runner/segments.py).
// Run by hand: K6_BROWSER_EXECUTABLE_PATH=/usr/bin/chromium k6 run k6/ui.js -e BASE_URL=http://127.0.0.1:5000
//   -e SIZES=5,50 -e READS=1 [-e UI_PATH=/mlflow/ for FastTrackML's MLflow UI]
import { browser } from 'k6/browser';
import { check } from 'k6';
import encoding from 'k6/encoding';
import { Counter, Trend } from 'k6/metrics';
import { BASE_URL, meet, session, settings, suiteOptions } from './lib/mlflow.js';
import { LONG_HISTORY_PER_RUN, newStore, runName, runsHeld, sizeOfIteration } from './lib/store.js';

const base = suiteOptions('ui');
export const options = {
  ...base,
  scenarios: { ui: { ...base.scenarios.ui, options: { browser: { type: 'chromium' } } } },
};

const { sizes, reads } = settings('ui');
const UI = `${BASE_URL}${__ENV.UI_PATH || '/'}`; // where the server serves its MLflow UI
const AIM = __ENV.AIM_PATH ? `${BASE_URL}${__ENV.AIM_PATH}` : ''; // FastTrackML's Aim UI, where there is one
const TABLE_PAGE = 100; // runs the experiment page loads at first
const COMPARED = 100; // runs on the compare page
const VIEW_TIMEOUT_MS = Number(__ENV.VIEW_TIMEOUT_MS || 60000);

const operations = new Counter('operations');
const viewDuration = new Trend('successful_request_duration', true);
const callDuration = new Trend('rest_call_duration', true);
const callBytes = new Trend('rest_call_bytes');
// per view: the ms until it was shown during which some request to the server was in flight (the
// page's own navigation included); the rest of the view's time is the browser's own work
const serverWait = new Trend('server_wait', true);

const server = session(); // one VU, one server
const store = newStore(server.api, Infinity, true);

// Runs in every document before its own scripts: on each animation frame, until the page shows what
// its view is for, look at the page; then keep the moment (ms since the navigation started) and the
// facts the check needs in window.__shown. textContent, not innerText: reading it forces no layout.
const WATCH = `(() => {
  const number = (re, text) => { const m = text.match(re); return m ? Number(m[1]) : null; };
  const names = (text) => new Set(text.match(/run-\\d{5}/g) || []);
  const plotted = (selector) => document.querySelector(selector) !== null;
  // each view: what the page shows now, and whether that is the view shown
  const views = {
    experiment(text) {
      const rows = number(/(\\d+) matching runs?/, text);
      const first = (text.match(/run-\\d{5}/) || [null])[0];
      return { facts: { rows, first }, shown: rows !== null && first !== null };
    },
    compare(text) {
      const runs = number(/Comparing (\\d+) Runs?/, text);
      const shown = names(text).size;
      const plot = plotted('.js-plotly-plot .parcoords');
      return { facts: { runs, shown, plot }, shown: runs !== null && shown >= runs && plot };
    },
    metric(text) {
      // the table gives the latest value (from the run, before the history arrives), then the
      // smallest and the largest (from the history), each with its step; \`loss\` falls step by step,
      // so the largest step there is the last one the page fetched
      const steps = [...text.matchAll(/\\(step=(\\d+)\\)/g)].map((m) => Number(m[1]));
      const plot = plotted('.js-plotly-plot');
      return { facts: { last: steps.length ? Math.max(...steps) : null, plot }, shown: steps.length >= 3 && plot };
    },
    aim() {
      const lines = document.querySelectorAll('.Line').length;
      return { facts: { lines }, shown: lines > 0 && lines >= expected };
    },
  };
  // the Aim view's URL ends with #expect=N, the lines it must draw (the app ignores the fragment)
  const expected = Number((location.hash.match(/expect=(\\d+)/) || [0, 0])[1]);
  const hash = location.hash;
  const aim = location.pathname.endsWith('/aim/metrics');
  const view = aim ? 'aim' : hash.startsWith('#/compare-runs') ? 'compare' : hash.startsWith('#/metric') ? 'metric' : hash.includes('/runs') ? 'experiment' : null;
  if (!view) return;
  function watch() {
    const now = document.body ? views[view](document.body.textContent) : { facts: {}, shown: false };
    window.__seen = now.facts; // what a view that is never shown showed last, for its error
    if (now.shown) {
      window.__shown = { ms: performance.now(), ...now.facts };
    } else {
      requestAnimationFrame(watch);
    }
  }
  requestAnimationFrame(watch);
})();`;

export default async function () {
  const size = sizeOfIteration(store, sizes, reads, __ITER);
  if (size === null) {
    return; // growing the store to this size failed
  }
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.addInitScript(WATCH);
  const page = await context.newPage();
  try {
    await page.goto(experimentUrl(), { timeout: VIEW_TIMEOUT_MS }); // untimed: fills the cache
    await page.waitForFunction(() => window.__shown, { polling: 100, timeout: VIEW_TIMEOUT_MS }).catch(() => null);
    await experimentPage(page, size);
    await compareRuns(page, size);
    await metricPage(page, size);
    if (AIM) {
      await aimMetrics(page, size);
    }
  } finally {
    await page.close();
    await context.close();
  }
}

function experimentUrl() {
  return `${UI}#/experiments/${store.experiments[0]}/runs`;
}

async function experimentPage(page, size) {
  const expected = Math.min(runsHeld(store), TABLE_PAGE); // with the long-history runs, the oldest
  const newest = runName(size - 1);
  await view(page, `ExperimentPage@${size}`, experimentUrl(), {
    [`${expected} runs listed, ${newest} first`]: (s) => s.rows === expected && s.first === newest,
  });
}

async function compareRuns(page, size) {
  const runIds = store.runs.slice(Math.max(0, size - COMPARED), size);
  const query = `runs=${encodeURIComponent(JSON.stringify(runIds))}&experiments=${encodeURIComponent(JSON.stringify([store.experiments[0]]))}`;
  await view(page, `CompareRuns@${size}`, `${UI}#/compare-runs?${query}`, {
    [`all ${runIds.length} runs compared`]: (s) => s.runs === runIds.length && s.shown === runIds.length,
  });
}

async function metricPage(page, size) {
  const runId = store.longRuns[size];
  const last = LONG_HISTORY_PER_RUN * size - 1;
  const json = (value) => encodeURIComponent(JSON.stringify(value));
  const query = `runs=${json([runId])}&metric=${json('loss')}&experiments=${json([store.experiments[0]])}&plot_metric_keys=${json(['loss'])}&x_axis=step`;
  await view(page, `MetricPage@${size}`, `${UI}#/metric?${query}`, {
    [`the history up to step ${last}`]: (s) => s.last === last,
  });
}

/** The Aim UI's metrics explorer charting `loss` of every run in the experiment, streamed from
 * /aim/api/runs/search/metric; shown when every run's line is drawn. The explorer's experiment is
 * chosen as its own selector keeps it, in the page's local storage. */
async function aimMetrics(page, size) {
  const experiment = { id: store.experiments[0], name: `${store.prefix}-e00000` };
  await page.goto(`${AIM}metrics`); // untimed: fills the cache with the Aim UI, picks the experiment
  await page.evaluate((chosen) => localStorage.setItem('selectedExperiments', JSON.stringify([chosen])), experiment);
  const loss = { metricName: 'loss', contextName: '' };
  const option = { label: 'loss', group: 'loss', type: 'metrics', key: aimEncode(loss), value: { option_name: 'loss', context: {} } };
  const select = { options: [option], query: '', advancedMode: false, advancedQuery: '' };
  const lines = runsHeld(store);
  await view(page, `AimMetrics@${size}`, `${AIM}metrics?select=${aimEncode(select)}#expect=${lines}`, {
    [`all ${lines} runs charted`]: (s) => s.lines === lines,
  });
}

/** The Aim UI's encoding of a state in its URL: O- and the base64 of the JSON through encodeURI. */
function aimEncode(value) {
  return `O-${encoding.b64encode(encodeURI(JSON.stringify(value)), 'rawstd')}`;
}

/** Navigate to `url` as view `name`, wait until the page shows it, check what it shows, and record its
 * time (when the checks pass) and the requests it made. A view that is never shown is an error. */
async function view(page, name, url, checks) {
  const tags = { name };
  await page.goto('about:blank');
  operations.add(1, tags);
  let shown = null;
  meet(name);
  try {
    await page.goto(url, { timeout: VIEW_TIMEOUT_MS });
    await page.waitForFunction(() => window.__shown, { polling: 'raf', timeout: VIEW_TIMEOUT_MS });
    shown = await page.evaluate(() => window.__shown);
  } catch (e) {
    const seen = await page.evaluate(() => window.__seen).catch(() => null);
    console.error(`${name}: not shown within ${VIEW_TIMEOUT_MS} ms (it showed ${facts(seen)}): ${e}`);
  }
  meet('end');
  const passed = check(shown, { 'view shown': (s) => s !== null }, tags) && check(shown, checks, tags);
  if (shown && !passed) {
    console.error(`${name}: shown ${facts(shown)}`);
  }
  if (passed) {
    viewDuration.add(shown.ms, tags);
    serverWait.add(await inFlight(page, shown.ms), tags);
  }
  await recordRequests(page, tags);
}

/** What a view showed, for a log line: its keys sorted, as page.evaluate hands them back in any order. */
function facts(shown) {
  return JSON.stringify(shown, shown ? Object.keys(shown).sort() : undefined);
}

/** The ms before `until` (ms since the navigation started) during which at least one of the page's
 * requests was in flight: the union of their spans from Navigation and Resource Timing. */
async function inFlight(page, until) {
  return page.evaluate((end) => {
    const spans = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
      .map((e) => [e.startTime, Math.min(e.responseEnd, end)])
      .filter(([from, to]) => to > from)
      .sort((a, b) => a[0] - b[0]);
    let total = 0;
    let reached = 0;
    for (const [from, to] of spans) {
      if (to > reached) {
        total += to - Math.max(from, reached);
        reached = to;
      }
    }
    return total;
  }, until);
}

/** The requests of the page so far (Resource Timing), one `rest_call_*` pair each, per endpoint. */
async function recordRequests(page, tags) {
  const entries = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map((e) => ({ url: e.name, ms: e.duration, bytes: e.transferSize, status: e.responseStatus || 0 })),
  );
  for (const entry of entries) {
    // status 0: not known (an answer from the cache)
    const callTags = { ...tags, endpoint: endpointOf(entry.url), status: String(entry.status) };
    callDuration.add(entry.ms, callTags);
    callBytes.add(entry.bytes, callTags);
  }
}

/** `runs/search` for .../ajax-api/2.0/mlflow/runs/search?..., `3.0/server-info` for MLflow's 3.0
 * API, `aim/runs/search/metric` for the Aim UI's API, `static files` for the UI's own scripts,
 * styles and images. */
function endpointOf(url) {
  const path = url.replace(/^https?:\/\/[^/]+/, '').split('?')[0];
  const mlflow = path.match(/\/(?:ajax-)?api\/(2\.0|3\.0)\/mlflow\/(.*)$/);
  if (mlflow) {
    return mlflow[1] === '2.0' ? mlflow[2] : `${mlflow[1]}/${mlflow[2]}`;
  }
  const aim = path.match(/\/aim\/api\/(.*)$/);
  return aim ? `aim/${aim[1]}` : 'static files';
}
