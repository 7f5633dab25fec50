#!/usr/bin/env bash
# Where one of the job's service containers answers, and what it runs: key=value lines for
# $GITHUB_OUTPUT. k6 talks to the container's own address on the job's Docker network, never
# through a published port, so Docker's userland port proxy is not on the measured path; and the
# container is found by its label, which works on GitHub and under act alike (where
# `job.services` is empty).
#   .github/scripts/container.sh LABEL PORT
#   id=...  url=http://ADDRESS:PORT  digest=IMAGE@sha256:...  revision=COMMIT (the image's OCI label)
#   cgroup=/sys/fs/cgroup/...  the container's cgroup, which meters its CPU and memory (empty if not found)
set -euo pipefail
label=$1
port=$2
id=$(docker ps --quiet --filter "label=$label" | head -n 1)
if [ -z "$id" ]; then
  echo "::error::no running service container is labelled $label (did it exit? see the job's service logs)" >&2
  exit 1
fi
address=$(docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$id" | awk '{print $1}')
image=$(docker inspect --format '{{.Config.Image}}' "$id")
full_id=$(docker inspect --format '{{.Id}}' "$id")
digest=$(docker image inspect --format '{{join .RepoDigests " "}}' "$image" | awk '{print $1}')
revision=$(docker image inspect --format '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$image")
[ "$revision" = "<no value>" ] && revision=""
echo "id=$id"
echo "url=http://$address:$port"
# an image built on this machine (act) has no registry digest: its local id stands in
echo "digest=${digest:-$image@$(docker image inspect --format '{{.Id}}' "$image")}"
echo "revision=$revision"
# systemd's cgroup driver (GitHub's runners) or cgroupfs's
cgroup=""
for folder in "/sys/fs/cgroup/system.slice/docker-$full_id.scope" "/sys/fs/cgroup/docker/$full_id"; do
  if [ -d "$folder" ]; then cgroup=$folder; fi
done
echo "cgroup=$cgroup"
