#!/usr/bin/env bash
# Runs the README's main-job command exactly as written (the first ```sh
# block under "Set up"), calls the GetReport it suggests, checks the sample
# report's real error comes back, then stops it with SIGTERM and expects a
# clean exit. Uses a scratch copy of the working directory's ./data.
set -euo pipefail
cd "$(dirname "$0")/.."

cmd="$(awk '/^## Set up/ {on=1} on && /^```sh$/ {grab=1; next} grab && /^```$/ {exit} grab {print}' README.md)"
[ -n "$cmd" ] || { echo "no main-job command in README.md"; exit 1; }
echo "main job: $cmd"
[ ! -e data ] || { echo "./data exists; move it away first"; exit 1; }
out="$(mktemp)"
bash -c "exec $cmd" > "$out" 2> main-job.log &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; rm -rf data "$out" main-job.log; }
trap cleanup EXIT
for _ in $(seq 1 600); do grep -q '^       grpcurl' "$out" && break; kill -0 "$pid" || { cat main-job.log; exit 1; }; sleep 0.2; done
cat "$out"
try="$(sed -n 's/^       \(grpcurl .*GetReport\)$/\1/p' "$out")"
[ -n "$try" ] || { echo "the server printed no GetReport to try"; exit 1; }
reply="$(bash -c "$try")"
grep -q '"rule": "t3.balance"' <<<"$reply" || { echo "$reply"; echo "GetReport lacks the t3.balance finding"; exit 1; }
grep -q '"path": "t3.R25.natural_person"' <<<"$reply"
kill -TERM "$pid"
wait "$pid"
echo "README main job: ok (served the seeded sample, exited 0 on SIGTERM)"
