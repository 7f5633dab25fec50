// Logging suite: each iteration creates one run and logs to it, like a training job would.
// Run by hand: k6 run k6/logging.js -e BASE_URL=http://127.0.0.1:5000 -e PROFILE=smoke
import {
  createExperiment,
  createRun,
  metricBatch,
  paramBatch,
  post,
  sideOfIteration,
  sides,
  suiteOptions,
  uniqueName,
  useSide,
} from './lib/mlflow.js';

export const options = suiteOptions('logging');

export function setup() {
  const experiments = {};
  for (const side of sides()) {
    useSide(side);
    experiments[side] = createExperiment(uniqueName('k6-logging'));
  }
  return experiments;
}

export default function (experiments) {
  const side = sideOfIteration();
  useSide(side);
  const runId = createRun(experiments[side], 'CreateRun');
  if (runId === null) {
    return; // nothing to log to; the failure is already counted against CreateRun
  }
  post('LogMetricSingle', 'runs/log-metric', {
    run_id: runId,
    key: 'loss',
    value: Math.random(),
    timestamp: Date.now(),
    step: 0,
  });
  post('LogMetricBatch10', 'runs/log-batch', { run_id: runId, metrics: metricBatch('m10', 10, 4) });
  post('LogMetricBatch100', 'runs/log-batch', { run_id: runId, metrics: metricBatch('m100', 100, 4) });
  // 500 keys x 2 steps = 1000 metrics: MLflow's cap on one log-batch request.
  post('LogMetricBatch500', 'runs/log-batch', { run_id: runId, metrics: metricBatch('m500', 500, 2) });
  post('LogParamBatch10', 'runs/log-batch', { run_id: runId, params: paramBatch('p10', 10) });
  post('LogParamBatch100', 'runs/log-batch', { run_id: runId, params: paramBatch('p100', 100) });
  post(
    'UpdateRun',
    'runs/update',
    { run_id: runId, status: 'FINISHED', end_time: Date.now() },
    (b) => b.run_info !== undefined && b.run_info.status === 'FINISHED',
  );
}
