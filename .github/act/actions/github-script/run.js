// The github-script stand-in: see action.yml.
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const calls = process.env.ACT_GITHUB_API;
const event = JSON.parse(fs.readFileSync(process.env.GITHUB_EVENT_PATH, 'utf8'));
const [owner, repo] = (process.env.GITHUB_REPOSITORY || '/').split('/');

const appendLine = (file, line) => file && fs.appendFileSync(file, `${line}\n`);
const command = (name, message) => console.log(`::${name}::${message}`);
const core = {
  info: (message) => console.log(message),
  notice: (message) => command('notice', message),
  warning: (message) => command('warning', message),
  error: (message) => command('error', message),
  setOutput: (name, value) => appendLine(process.env.GITHUB_OUTPUT, `${name}=${value}`),
  setFailed: (message) => { command('error', message); process.exitCode = 1; },
  summary: { addRaw(text) { appendLine(process.env.GITHUB_STEP_SUMMARY, text); return this; }, async write() { return this; } },
};
const context = {
  payload: event,
  eventName: process.env.GITHUB_EVENT_NAME,
  sha: process.env.GITHUB_SHA,
  ref: process.env.GITHUB_REF,
  runId: Number(process.env.GITHUB_RUN_ID),
  actor: process.env.GITHUB_ACTOR,
  repo: { owner, repo },
  issue: { owner, repo, number: (event.issue || event.pull_request || {}).number },
};

// github.rest.SCOPE.METHOD(params): recorded, answered with an empty list or a created item
function endpoint(scope, method) {
  return async (params = {}) => {
    appendLine(calls, JSON.stringify({ endpoint: `${scope}.${method}`, params }));
    const listing = method.startsWith('list') || method.startsWith('search');
    return { status: 200, data: listing ? [] : { number: 1, id: 1, html_url: '' } };
  };
}
const rest = new Proxy({}, { get: (_, scope) => new Proxy({}, { get: (__, method) => endpoint(scope, method) }) });
const github = {
  rest,
  paginate: async (method, params) => (await method(params)).data,
  request: async (route, params) => { appendLine(calls, JSON.stringify({ endpoint: route, params })); return { status: 200, data: {} }; },
};

const workspaceRequire = createRequire(path.join(process.cwd(), 'script.js'));
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
const script = new AsyncFunction('github', 'context', 'core', 'require', 'process', process.env.INPUT_SCRIPT);
script(github, context, core, workspaceRequire, process)
  .then((result) => {
    const encoded = process.env.INPUT_RESULT_ENCODING === 'string' ? String(result ?? '') : JSON.stringify(result ?? null);
    core.setOutput('result', encoded);
  })
  .catch((error) => core.setFailed(`github-script: ${error.message}`));
