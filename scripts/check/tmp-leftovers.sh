#!/usr/bin/env bash
# Issue 18's acceptance check: on a machine whose /tmp already holds `kata-deploy-validate-*` leftovers
# (what killed runs of earlier versions left, each with a containerd config), the crash test and then
# the e2e suite pass. Plants the leftovers, runs both, then removes exactly what it planted.
set -euo pipefail
cd "$(dirname "$0")/../.."
planted=()
cleanup() { for dir in "${planted[@]}"; do rm -rf -- "$dir"; done; }
trap cleanup EXIT
for _ in 1 2 3; do
  dir=$(mktemp -d /tmp/kata-deploy-validate-XXXXXX)
  mkdir -p "$dir/etc/containerd"
  printf 'version = 2\n' >"$dir/etc/containerd/config.toml"
  planted+=("$dir")
done
echo "planted: ${planted[*]}"
npm run build
npx vitest run test/e2e/crash-recovery.test.ts
npx vitest run test/e2e
for dir in "${planted[@]}"; do
  [ -f "$dir/etc/containerd/config.toml" ] || { echo "a run removed $dir, which was not its own" >&2; exit 1; }
done
echo "the crash test and the e2e suite passed beside ${#planted[@]} leftovers in /tmp"
