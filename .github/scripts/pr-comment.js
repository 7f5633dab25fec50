// Posts a benchmark comparison on its pull request as one sticky comment: the `script` of
// actions/github-script in .github/workflows/pr-comment.yml (tests/test_workflow_rehearsal.py runs it
// with a recording client). The pull request comes from the `workflow_run` event, never from the
// artifact (which the pull request's own code produced): the open pull request whose head is the
// run's head repository and branch, and whose head commit is the run's head SHA. The artifact
// gives only the markdown, treated as text.
const MARKER = '<!-- benchmark-comparison -->';

async function findPullRequest({ github, context }) {
  const run = context.payload.workflow_run;
  const { owner, repo } = context.repo;
  const head = `${run.head_repository.owner.login}:${run.head_branch}`;
  const pulls = await github.paginate(github.rest.pulls.list, { owner, repo, state: 'open', head });
  return pulls.find((pull) => pull.head.sha === run.head_sha) || null;
}

module.exports = async ({ github, context, core, fs }) => {
  const pull = await findPullRequest({ github, context });
  if (!pull) {
    core.notice(`no open pull request has head commit ${context.payload.workflow_run.head_sha}: nothing to comment on`);
    return null;
  }
  let text;
  try {
    text = fs.readFileSync('comparison/comparison.md', 'utf8');
  } catch {
    text = fs.existsSync('comparison/none.md') ? fs.readFileSync('comparison/none.md', 'utf8') : null;
  }
  if (!text) {
    core.notice('the benchmark run left no comparison: nothing to comment');
    return null;
  }
  // the markdown came from the pull request's run: an @name in it must notify no one
  const body = `${MARKER}\n${text.slice(0, 60000).replace(/@(?=[\w-])/g, '@\u200b')}`;
  const { owner, repo } = context.repo;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number: pull.number });
  const mine = comments.find((c) => c.user.type === 'Bot' && c.body.startsWith(MARKER));
  if (mine) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
  } else {
    await github.rest.issues.createComment({ owner, repo, issue_number: pull.number, body });
  }
  return pull.number;
};
