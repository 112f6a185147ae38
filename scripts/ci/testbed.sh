#!/usr/bin/env bash
# The nspawn test bed (docs/TESTBED.md): systemd-nspawn (systemd-container) and debootstrap, then the node
# roots built once into .cache/testbed (debootstrap of bookworm needs deb.debian.org). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "testbed: needs root" >&2; exit 1; fi
missing=()
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v debootstrap >/dev/null || missing+=(debootstrap)
# The kernel's syscall table (asm/unistd_64.h) the stand-in's seccomp filter is assembled from.
[ -e "/usr/include/$(uname -m)-linux-gnu/asm/unistd_64.h" ] || [ -e /usr/include/asm-generic/unistd.h ] ||
  missing+=(linux-libc-dev)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash scripts/testbed/build-rootfs.sh node
