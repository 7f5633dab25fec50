#!/usr/bin/env bash
# Where one of the job's service containers answers, and what it runs: key=value lines for
# $GITHUB_OUTPUT. k6 talks to the container's own address on the job's Docker network, never
# through a published port, so Docker's userland port proxy is not on the measured path; and the
# container is found by its label, which works on GitHub and under act alike (where
# `job.services` is empty).
#   .github/scripts/container.sh LABEL PORT
#   id=...  url=http://ADDRESS:PORT  digest=IMAGE@sha256:...  revision=COMMIT (the image's OCI label)
#   cgroup=DIR  the cgroup folder that holds the CPU account of the container's main process
#               (`./run.sh cgroup PID`), which meters its CPU and memory
# A container that is restarting (a server waiting for its database) has neither an address nor a
# process: it is waited for, up to CONTAINER_WAIT_SECONDS (default 60). Any failure is one
# ::error:: line naming the label, and no output at all.
set -euo pipefail
label=$1
port=$2
wait_seconds=${CONTAINER_WAIT_SECONDS:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT

fail() {
  echo "::error::$1" >&2
  exit 1
}

id=$(docker ps --quiet --filter "label=$label" | head -n 1)
if [ -z "$id" ]; then
  fail "no running service container is labelled $label (did it exit? see the job's service logs)"
fi

# The main process and the address, read together, until both exist and the process's cgroup is found.
# Waited for in whole seconds slept (bash's SECONDS counts clock seconds and would give up to 1 s early).
waited=0
cgroup=""
while :; do
  if ! state=$(docker inspect --format '{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$id" 2>"$errors"); then
    fail "the container labelled $label cannot be inspected: $(tail -n 1 "$errors")"
  fi
  read -r pid address _ <<<"$state"
  if [ "${pid:-0}" != 0 ] && [ -n "${address:-}" ]; then
    if cgroup=$("$root/run.sh" cgroup "$pid" 2>"$errors"); then
      break
    fi
    # the process may have exited meanwhile (a restart): only a failure about the current one is final
    if [ "$(docker inspect --format '{{.State.Pid}}' "$id")" = "$pid" ]; then
      fail "the container labelled $label has no CPU account: $(tail -n 1 "$errors")"
    fi
  fi
  if [ "$waited" -ge "$wait_seconds" ]; then
    fail "the container labelled $label has no network address and running process after ${wait_seconds} s (restarting? see the job's service logs)"
  fi
  sleep 1
  waited=$((waited + 1))
done

image=$(docker inspect --format '{{.Config.Image}}' "$id")
digest=$(docker image inspect --format '{{join .RepoDigests " "}}' "$image" | awk '{print $1}')
revision=$(docker image inspect --format '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$image")
[ "$revision" = "<no value>" ] && revision=""
# an image built on this machine (act) has no registry digest: its local id stands in
digest=${digest:-$image@$(docker image inspect --format '{{.Id}}' "$image")}
[ -n "$cgroup" ] || fail "the container labelled $label has no CPU account (an empty cgroup folder)"
echo "id=$id"
echo "url=http://$address:$port"
echo "digest=$digest"
echo "revision=$revision"
echo "cgroup=$cgroup"
