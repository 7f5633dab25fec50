// The nightly's alert: the `script` of actions/github-script in the `alert` job of
// .github/workflows/benchmark.yml (tests/test_workflow_rehearsal.py runs it in node with a recording
// client). It reads the gate's outcome (verdict/gate.json, written by `./run.sh gate`). On a
// regression it opens one issue labelled LABEL, or updates the open one, naming FastTrackML's commit
// range: from the baseline's revision (its latest release) to the candidate's (main). Any other
// outcome changes nothing; nor does a nightly whose A/B left no verdict (the A/B never ran: its
// own job has failed the run already), which is said as a warning. The open issue is found by its
// title, not its label: the REST API sets a new issue's labels only for a token with push access
// (it drops them silently, or refuses the whole request for a label the repository lacks), and
// this job's token has `issues: write` alone. So the issue is created without labels, and the
// label is added after, a failure to add it being a warning, never a lost alert.
const LABEL = 'performance-regression';
const TITLE = 'Nightly benchmark: FastTrackML main regressed against its latest release';
const FASTTRACKML = 'https://github.com/G-Research/fasttrackml';

function commitRange(gate) {
  const base = gate.baseline_commit || 'the latest release';
  const head = gate.candidate_commit || 'main';
  if (gate.baseline_commit && gate.candidate_commit) {
    return `[\`${base.slice(0, 12)}...${head.slice(0, 12)}\`](${FASTTRACKML}/compare/${base}...${head})`;
  }
  return `\`${base}\` … \`${head}\``;
}

module.exports = async ({ github, context, core, fs, runUrl }) => {
  if (!fs.existsSync('verdict/gate.json')) {
    core.warning('the nightly A/B left no verdict (it did not run to its gate): no issue opened or updated');
    return null;
  }
  const gate = JSON.parse(fs.readFileSync('verdict/gate.json', 'utf8'));
  if (gate.outcome !== 'regression') {
    core.notice(`nightly gate: ${gate.outcome}; no issue to open`);
    return null;
  }
  const comment = fs.readFileSync('verdict/comment.md', 'utf8');
  const body = [
    `FastTrackML commits: ${commitRange(gate)}`,
    '',
    `Run: ${runUrl}`,
    '',
    comment,
  ].join('\n');
  const { owner, repo } = context.repo;
  const open = await github.paginate(github.rest.issues.listForRepo, { owner, repo, state: 'open', per_page: 100 });
  const mine = open.find((issue) => issue.title === TITLE && !issue.pull_request);
  if (mine) {
    await github.rest.issues.update({ owner, repo, issue_number: mine.number, body });
    return mine.number;
  }
  const created = await github.rest.issues.create({ owner, repo, title: TITLE, body });
  try {
    await github.rest.issues.addLabels({ owner, repo, issue_number: created.data.number, labels: [LABEL] });
  } catch (error) {
    core.warning(`issue #${created.data.number} opened without its label ${LABEL}: ${error.message}`);
  }
  return created.data.number;
};
