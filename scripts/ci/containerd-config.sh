#!/usr/bin/env bash
# Setup for the runtime-config tests' real containerd matrix: Debian 12's containerd 1.6 from apt (binary
# only; its service is not started here) and the 1.7/2.x binaries unpacked by containerd-binaries.sh.
# Idempotent; needs only Debian's apt repositories.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/bin/containerd ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends containerd >/dev/null
fi
echo "/usr/bin/containerd $(/usr/bin/containerd --version | awk '{print $3}')"
bash scripts/ci/containerd-binaries.sh
