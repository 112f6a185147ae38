#!/usr/bin/env bash
# Renders every kustomization under assets/ with the real kubectl scripts/ci/kubectl.sh unpacks (Debian sid's),
# failing on the first render error, and checks daemonset.yaml is the rendered base. Components are rendered
# through the kustomizations that include them (test/assets/render.test.ts checks that each one is).
set -euo pipefail
cd "$(dirname "$0")/../.."
kubectl=$(bash scripts/ci/kubectl.sh | awk '{print $1}')
find assets -name kustomization.yaml -print0 | sort -z | while IFS= read -r -d '' file; do
  dir=$(dirname "$file")
  grep -q '^kind: Component' "$file" && continue
  "$kubectl" kustomize "$dir" >/dev/null
  echo "rendered $dir"
done
npm run --silent render:daemonset -- --check
