// The load generator's own ceiling on this machine: as many GET /health as VUS virtual users can
// send in DURATION, the cheapest request a server answers. The runner runs it before each pair at
// the pair's concurrency and records the rate beside the pair's throughput (see the methodology:
// "load-generator bound"). Not a suite: it lives outside k6/*.js.
import http from 'k6/http';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:5000').replace(/\/+$/, '');

export const options = {
  vus: Number(__ENV.VUS || 1),
  duration: __ENV.DURATION || '3s',
  summaryTrendStats: ['med'],
};

export default function () {
  http.get(`${BASE_URL}/health`, { tags: { name: 'health' } });
}

export function handleSummary(data) {
  const result = {
    requests_per_second: data.metrics.http_reqs.values.rate,
    failed_share: data.metrics.http_req_failed ? data.metrics.http_req_failed.values.rate : 0,
  };
  return { [__ENV.RESULT]: JSON.stringify(result) };
}
