// Logging suite: each iteration creates one run and logs to it, like a training job would.
// Run by hand: k6 run k6/logging.js -e BASE_URL=http://127.0.0.1:5000 -e VUS=2 -e ITERATIONS=2
import { createExperiment, createRun, iterate, metricBatch, paramBatch, session, sides, suiteOptions, uniqueName } from './lib/mlflow.js';

// The requests of one iteration, in order: CreateRun makes the run the others log to.
const STEPS = [
  [
    'CreateRun',
    ({ data, state, session: on }) => {
      state.runId = createRun(on, data, 'CreateRun');
    },
    { feeds: true },
  ],
  logTo('LogMetricSingle', 'runs/log-metric', (runId) => ({
    run_id: runId,
    key: 'loss',
    value: Math.random(),
    timestamp: Date.now(),
    step: 0,
  })),
  logTo('LogMetricBatch10', 'runs/log-batch', (runId) => ({ run_id: runId, metrics: metricBatch('m10', 10, 4) })),
  logTo('LogMetricBatch100', 'runs/log-batch', (runId) => ({ run_id: runId, metrics: metricBatch('m100', 100, 4) })),
  // 500 keys x 2 steps = 1000 metrics: MLflow's cap on one log-batch request.
  logTo('LogMetricBatch500', 'runs/log-batch', (runId) => ({ run_id: runId, metrics: metricBatch('m500', 500, 2) })),
  logTo('LogParamBatch10', 'runs/log-batch', (runId) => ({ run_id: runId, params: paramBatch('p10', 10) })),
  logTo('LogParamBatch100', 'runs/log-batch', (runId) => ({ run_id: runId, params: paramBatch('p100', 100) })),
  [
    ...logTo(
      'UpdateRun',
      'runs/update',
      (runId) => ({ run_id: runId, status: 'FINISHED', end_time: Date.now() }),
      (b) => b.run_info !== undefined && b.run_info.status === 'FINISHED',
    ),
    { onFull: true }, // isolated: it meets only runs that received every step (k6/lib/mlflow.js)
  ],
];

export const options = suiteOptions('logging', STEPS);

/** The step `name`: post `body(runId)` to `path`; nothing when CreateRun failed (already counted against it). */
function logTo(name, path, body, shape = undefined) {
  return [
    name,
    ({ state, session: on }) => {
      if (state.runId) {
        on.post(name, path, body(state.runId), shape);
      }
    },
  ];
}

export function setup() {
  const experiments = {};
  for (const side of sides()) {
    experiments[side] = createExperiment(session(side), uniqueName('k6-logging'));
  }
  return experiments;
}

export default function (experiments) {
  iterate(STEPS, experiments);
}
