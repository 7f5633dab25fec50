#!/usr/bin/env node
// A trivial tracking server for one test: it keeps the retrieval suite's data in memory and answers
// each of its requests with almost no work, so that k6, not the server, sets the pace. It takes
// FastTrackML's command line (`server --listen-address HOST:PORT --database-uri ...`), so that
// `./run.sh run --server-executable` launches it in FastTrackML's place. Not a benchmark target.
'use strict';
const http = require('http');

const argv = process.argv.slice(2);
const [host, port] = argv[argv.indexOf('--listen-address') + 1].split(':');

const experiments = [];
const runs = new Map();

function experiment(name) {
  const e = { experiment_id: String(experiments.length + 1), name, lifecycle_stage: 'active', tags: [] };
  experiments.push(e);
  return e;
}

function runView(run) {
  const latest = new Map();
  for (const m of run.metrics) {
    const seen = latest.get(m.key);
    if (!seen || m.step >= seen.step) latest.set(m.key, m);
  }
  return { info: run.info, data: { params: run.params, metrics: [...latest.values()], tags: run.tags } };
}

const routes = {
  'GET /health': () => 'OK',
  'POST /api/2.0/mlflow/experiments/create': (b) => ({ experiment_id: experiment(b.name).experiment_id }),
  'POST /api/2.0/mlflow/experiments/search': (b) => {
    const match = /^name LIKE '(.*)%'$/.exec(b.filter || '');
    const found = experiments.filter((e) => !match || e.name.startsWith(match[1]));
    return { experiments: found.slice(0, b.max_results || 1000) };
  },
  'GET /api/2.0/mlflow/experiments/get': (b, q) => ({
    experiment: experiments.find((e) => e.experiment_id === q.get('experiment_id')),
  }),
  'POST /api/2.0/mlflow/runs/create': (b) => {
    const runId = `run${runs.size + 1}`;
    const info = { run_id: runId, run_uuid: runId, experiment_id: b.experiment_id, status: 'RUNNING', start_time: b.start_time };
    runs.set(runId, { info, params: [], metrics: [], tags: b.tags || [] });
    return { run: runView(runs.get(runId)) };
  },
  'POST /api/2.0/mlflow/runs/log-batch': (b) => {
    const run = runs.get(b.run_id);
    run.params.push(...(b.params || []));
    run.metrics.push(...(b.metrics || []));
    return {};
  },
  'POST /api/2.0/mlflow/runs/update': (b) => {
    runs.get(b.run_id).info.status = b.status;
    return {};
  },
  'POST /api/2.0/mlflow/runs/search': (b) => {
    const group = /params\.group = '(\w+)'/.exec(b.filter || '');
    const found = [...runs.values()].filter(
      (r) =>
        (b.experiment_ids || []).includes(r.info.experiment_id) &&
        (!group || r.params.some((p) => p.key === 'group' && p.value === group[1])),
    );
    return { runs: found.map(runView) };
  },
  'GET /api/2.0/mlflow/runs/get': (b, q) => ({ run: runView(runs.get(q.get('run_id'))) }),
  'GET /api/2.0/mlflow/metrics/get-history': (b, q) => ({
    metrics: runs.get(q.get('run_id')).metrics.filter((m) => m.key === q.get('metric_key')),
  }),
};

http
  .createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const route = routes[`${req.method} ${url.pathname}`];
      let status = 200;
      let answer;
      try {
        answer = route ? route(body ? JSON.parse(body) : {}, url.searchParams) : { error_code: 'ENDPOINT_NOT_FOUND' };
        if (!route) status = 404;
      } catch (e) {
        status = 400;
        answer = { error_code: 'INVALID_PARAMETER_VALUE', message: String(e) };
      }
      const text = typeof answer === 'string' ? answer : JSON.stringify(answer);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    });
  })
  .listen(Number(port), host);
