#!/usr/bin/env bash
# Everything the tests and the demo need on a fresh Debian 12 machine, as root: containerd 1.6 + runc,
# systemd and util-linux for the throwaway node, tar/gzip/xz/zstd/openssl for payloads and the fake
# API server's certificate, containerd 1.7/2.x unpacked from Debian's newer suites, and Debian sid's kubectl
# unpacked (not installed) to render assets/, and the nspawn test bed (systemd-container, debootstrap, node roots
# cached in .cache/testbed). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/ci/throwaway-node.sh
bash scripts/ci/containerd-config.sh
bash scripts/ci/payload.sh
bash scripts/ci/kubectl.sh
bash scripts/ci/testbed.sh
