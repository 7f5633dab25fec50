"""GitHub's own rules for workflows that the rehearsal cannot see, modelled so tests can apply them.

- Nested permissions: when a workflow calls a reusable one, GitHub checks, as it loads the run and
  whatever the jobs' `if:` says, that every job of the called workflow asks for no more than the
  calling job grants ("The nested job 'images' is requesting 'packages: write', but is only
  allowed 'packages: read'"); a job without `permissions:` gets the called workflow's top-level
  ones.
- Artifacts (upload-artifact v4): a name exists once per workflow run, across its attempts; a
  second upload under that name fails (409) unless it says `overwrite: true`.
- Pages artifacts (upload-pages-artifact v3): no `overwrite`, name `github-pages` unless `name:`
  says otherwise; "Re-run failed jobs" runs the uploading job again in the same run, and
  deploy-pages then fails on two artifacts of its `artifact_name`. A re-run must upload under a new
  name: one that depends on `github.run_attempt`.
"""

from __future__ import annotations

LEVELS = {"none": 0, "read": 1, "write": 2}
SCOPES = (
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
)


def permissions(value: object) -> dict[str, int]:
    """A `permissions:` value as a level per scope (`{}` is none of everything)."""
    if value in ("read-all", "write-all"):
        level = LEVELS[value.split("-")[0]]
        return dict.fromkeys(SCOPES, level)
    return {scope: LEVELS[(value or {}).get(scope, "none")] for scope in SCOPES}


def nested_permission_errors(called: dict, grant: object, caller_job: str = "caller") -> list[str]:
    """GitHub's load-time errors for calling workflow `called` from a job that grants `grant`."""
    allowed = permissions(grant)
    errors = []
    for name, job in called["jobs"].items():
        asked = permissions(job.get("permissions", called.get("permissions")))
        for scope, level in asked.items():
            if level > allowed[scope]:
                have = {v: k for k, v in LEVELS.items()}[allowed[scope]]
                want = {v: k for k, v in LEVELS.items()}[level]
                errors.append(
                    f"{caller_job}: the nested job '{name}' is requesting '{scope}: {want}', "
                    f"but is only allowed '{scope}: {have}'"
                )
    return errors


def input_errors(called: dict, given: dict) -> list[str]:
    """What GitHub rejects in a call's `with:`: unknown inputs, missing required ones."""
    inputs = called[True]["workflow_call"].get("inputs", {})  # YAML reads `on` as True
    errors = [f"input '{name}' is not defined in the called workflow" for name in given if name not in inputs]
    errors += [
        f"input '{name}' is required but not given"
        for name, spec in inputs.items()
        if spec.get("required") and name not in given
    ]
    return errors


UPLOADS = ("actions/upload-artifact@", "actions/upload-pages-artifact@")
ATTEMPT = "github.run_attempt"


def artifact_names(workflow: dict, matrices: dict[str, list[dict]]) -> list[tuple[str, str, bool]]:
    """(job, artifact name, whether a re-run of the job can upload it again) of every step of every
    uploading action, for each entry of each job's matrix."""
    uploads = []
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if not step.get("uses", "").startswith(UPLOADS):
                continue
            pages = step["uses"].startswith(UPLOADS[1])
            for entry in matrices.get(name, [{}]):
                artifact = step.get("with", {}).get("name", "github-pages" if pages else "artifact")
                for key, value in entry.items():
                    artifact = artifact.replace("${{ matrix." + key + " }}", str(value))
                again = _per_attempt(job, artifact) if pages else bool(step["with"].get("overwrite"))
                uploads.append((name, artifact, again))
    return uploads


def _per_attempt(job: dict, name: str) -> bool:
    """Whether an artifact name depends on the run's attempt: directly, or through the output of a
    step of the same job whose environment holds the attempt."""
    if ATTEMPT in name:
        return True
    source = name.removeprefix("${{ steps.").split(".outputs.")[0]
    step = next((s for s in job.get("steps", []) if s.get("id") == source), None)
    return step is not None and any(ATTEMPT in str(v) for v in step.get("env", {}).values())
