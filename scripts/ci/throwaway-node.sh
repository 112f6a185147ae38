#!/usr/bin/env bash
# What the throwaway-node tests (test/systemd, test/containerd-client) and the restart benchmark need:
# root, util-linux (unshare, mount), systemd (a user manager is started in a private mount namespace;
# PID 1 need not be systemd), containerd 1.6 + runc from apt, busybox-static (the pause image the pod
# launch test imports), and containerd 1.7/2.x unpacked by containerd-binaries.sh. Idempotent; installs nothing that is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "throwaway node: needs root" >&2; exit 1; fi
missing=()
command -v unshare >/dev/null || missing+=(util-linux)
[ -x /lib/systemd/systemd ] || missing+=(systemd)
[ -x /usr/bin/containerd ] || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash scripts/ci/containerd-binaries.sh
