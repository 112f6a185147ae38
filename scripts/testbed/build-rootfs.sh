#!/usr/bin/env bash
# Builds the test bed's root filesystems (docs/TESTBED.md), each once, cached under .cache/testbed/ and keyed by
# a digest of its inputs, so only the first run pays:
#   base-*.tar.zst   debootstrap of Debian bookworm minbase (the only step that needs deb.debian.org for long)
#   node-*/          base + systemd (init), dbus, containerd 1.6 + runc from Debian (containerd.service enabled),
#                    tar/zstd/xz/kmod: what a node offers kata-deploy
#   layer-<kind>-*/  thin overlay layers over node-*/ for the other node kinds (overlay whiteouts hide files):
#                    containerd-2.1 (Debian sid's binaries in /usr/bin), k3s and rke2-agent (a stand-in unit that
#                    renders containerd's config from its template and runs the bundled containerd 2.1 on
#                    /run/k3s/containerd/containerd.sock; Debian's containerd hidden)
#   image-*/         the Dockerfile's runtime stage without Docker, from scripts/image/runtime.list: Debian
#                    packages, Node 24 (node_modules/node), the bundled CLI, the payload
#
#   scripts/testbed/build-rootfs.sh node                      prints "node DIR" and "<kind> DIR" per layer
#   scripts/testbed/build-rootfs.sh image --payload FILE     prints "image DIR"
#
# Root only (debootstrap, chroot, device nodes). Concurrent runs wait on a lock; a build happens in a
# *.partial directory renamed into place, so an interrupted run leaves nothing that looks finished.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
here=scripts/testbed
cache=${KATA_TESTBED_CACHE:-$repo/.cache/testbed}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
node_packages=(systemd systemd-sysv dbus containerd runc tar zstd xz-utils kmod)

if [ "$(id -u)" != 0 ]; then echo "build-rootfs: needs root (debootstrap, chroot)" >&2; exit 1; fi
target=${1:-}
shift || true
payload=""
while [ $# -gt 0 ]; do
  case "$1" in
    --payload) payload=$(realpath "$2"); shift 2 ;;
    *) echo "build-rootfs: unknown argument $1 (usage: node | image --payload FILE)" >&2; exit 2 ;;
  esac
done
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# Under the lock no other build runs in this cache: any *.partial left is from an interrupted run.
rm -rf "$cache"/*.partial.*

digest() { sha256sum | cut -c1-16; }
# Each build step's wall time on stderr, for docs/TESTBED.md's figures.
timed() {
  local what=$1 start
  shift
  start=$(date +%s.%N)
  "$@"
  awk -v what="$what" -v start="$start" -v end="$(date +%s.%N)" \
    'BEGIN { printf "build-rootfs: %s took %.1f s\n", what, end - start }' >&2
}
script_digest=$(cat "$0" "$here"/node/* | digest)

# Runs a command chrooted in $1 with /proc mounted, in a private mount namespace (nothing to unmount after).
in_root() {
  local root=$1
  shift
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  unshare --mount --fork -- sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$root" "$@"
}

apt_install() {
  local root=$1
  shift
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  in_root "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@" && apt-get clean' apt "$@" >"$root.apt.log" 2>&1 ||
    { tail -30 "$root.apt.log" >&2; rm -f "$root.apt.log"; exit 1; }
  rm -f "$root.apt.log"
  rm -rf "$root/usr/sbin/policy-rc.d" "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  : >"$root/etc/resolv.conf"
}

debootstrap_into() { debootstrap --variant=minbase bookworm "$1/root" "$mirror" >"$1/debootstrap.log" 2>&1; }
pack() { tar -C "$1" --numeric-owner -cf - . | zstd -q -T0 -o "$2"; }

base_tar() {
  local key out
  key=$(printf 'bookworm minbase %s' "$mirror" | digest)
  out=$cache/base-bookworm-minbase-$key.tar.zst
  if [ ! -f "$out" ]; then
    local work
    work=$(mktemp -d "$cache/base.partial.XXXXXX")
    timed "debootstrap bookworm minbase" debootstrap_into "$work" ||
      { tail -20 "$work/debootstrap.log" >&2; rm -rf "$work"; exit 1; }
    timed "base archive (tar | zstd)" pack "$work/root" "$work/base.tar.zst"
    mv "$work/base.tar.zst" "$out"
    rm -rf "$work"
  fi
  echo "$out"
}

# Unpacks the base into a fresh *.partial dir and prints it.
fresh_root() {
  local base=$1 name=$2 dir
  dir=$(mktemp -d "$cache/$name.partial.XXXXXX")
  zstd -dc "$base" | tar -C "$dir" --numeric-owner -xf -
  echo "$dir"
}

# Moves a finished partial dir to its cached name (or drops it if another run won the race).
finish() {
  local dir=$1 out=$2
  chmod 0755 "$dir"
  if [ -e "$out" ]; then rm -rf "$dir"; else mv "$dir" "$out"; fi
}

whiteout() {
  local layer=$1
  shift
  for file in "$@"; do
    mkdir -p "$layer$(dirname "$file")"
    mknod "$layer$file" c 0 0
  done
}

# Hard links where the cache shares a file system with .cache/containerd (the layers never change them), else copies.
sid_binaries() {
  local name
  for name in containerd containerd-shim-runc-v2 ctr; do
    ln "$1/$name" "$2/$name" 2>/dev/null || cp "$1/$name" "$2/$name"
  done
}

sid_containerd() {
  bash scripts/ci/containerd-binaries.sh >/dev/null
  echo "$repo/.cache/containerd/sid/usr/bin"
}

build_node() {
  local base key out root
  base=$(base_tar)
  key=$(printf '%s %s %s' "$base" "${node_packages[*]}" "$script_digest" | digest)
  out=$cache/node-$key
  if [ ! -d "$out" ]; then
    root=$(timed "node root unpacked from the base" fresh_root "$base" node)
    timed "node packages (apt-get in the root)" apt_install "$root" "${node_packages[@]}"
    # Test scenarios restart the runtime more often than 5 times in 10 s; nothing kata-deploy reads changes.
    mkdir -p "$root/etc/systemd/system/containerd.service.d"
    printf '[Unit]\nStartLimitIntervalSec=0\n' >"$root/etc/systemd/system/containerd.service.d/10-testbed.conf"
    : >"$root/etc/machine-id"
    finish "$root" "$out"
  fi
  echo "node $out"
  local sid layer
  sid=$(sid_containerd)
  key=$(cat "$sid/containerd" "$sid/containerd-shim-runc-v2" | digest)-$script_digest
  layer=$cache/layer-containerd-2.1-$key
  if [ ! -d "$layer" ]; then
    root=$(mktemp -d "$cache/layer.partial.XXXXXX")
    mkdir -p "$root/usr/bin"
    sid_binaries "$sid" "$root/usr/bin"
    whiteout "$root" /usr/bin/containerd-shim /usr/bin/containerd-shim-runc-v1
    finish "$root" "$layer"
  fi
  echo "containerd-2.1 $layer"
  for kind in k3s rke2-agent; do
    layer=$cache/layer-$kind-$key
    if [ ! -d "$layer" ]; then
      root=$(mktemp -d "$cache/layer.partial.XXXXXX")
      distro_layer "$root" "$kind" "$sid"
      finish "$root" "$layer"
    fi
    echo "$kind $layer"
  done
}

# A k3s- or rke2-shaped node: the distribution's unit and binary, its bundled containerd, Debian's hidden.
distro_layer() {
  local root=$1 kind=$2 sid=$3 program unit_dir bin
  case "$kind" in
    k3s)
      program=k3s unit_dir=/etc/systemd/system
      bin=/var/lib/rancher/k3s/data/testbed/bin
      mkdir -p "$root/var/lib/rancher/k3s/data"
      ln -s testbed "$root/var/lib/rancher/k3s/data/current"
      ;;
    rke2-agent)
      program=rke2 unit_dir=/usr/local/lib/systemd/system
      bin=/var/lib/rancher/rke2/bin
      ;;
  esac
  mkdir -p "$root$bin" "$root/usr/local/bin" "$root$unit_dir" "$root/etc/systemd/system/multi-user.target.wants"
  sid_binaries "$sid" "$root$bin"
  install -m 0755 "$here/node/k3s-standin.sh" "$root/usr/local/bin/$program"
  install -m 0644 "$here/node/$kind.service" "$root$unit_dir/$kind.service"
  ln -s "$unit_dir/$kind.service" "$root/etc/systemd/system/multi-user.target.wants/$kind.service"
  whiteout "$root" /usr/bin/containerd /usr/bin/containerd-shim /usr/bin/containerd-shim-runc-v1 \
    /usr/bin/containerd-shim-runc-v2 /usr/bin/ctr /usr/lib/systemd/system/containerd.service /etc/containerd \
    /etc/systemd/system/containerd.service.d /etc/systemd/system/multi-user.target.wants/containerd.service
}

# The list's entries of one kind, one per line, without the kind.
entries() { awk -v kind="$1" '$1 == kind { $1 = ""; sub(/^ /, ""); print }' scripts/image/runtime.list; }

build_image() {
  if [ -z "$payload" ]; then echo "build-rootfs: image needs --payload FILE" >&2; exit 2; fi
  local base key out root node_bin bundle payload_path
  base=$(base_tar)
  node_bin=$(realpath node_modules/node/bin/node)
  key=$( (echo "$base $script_digest"; cat scripts/image/runtime.list "$node_bin" package-lock.json \
    scripts/bundle.mjs "$payload"; find src -type f | sort | xargs cat) | digest)
  out=$cache/image-$script_digest-$key
  if [ ! -d "$out" ]; then
    root=$(fresh_root "$base" image)
    mapfile -t packages < <(entries package)
    timed "image packages (apt-get in the root)" apt_install "$root" "${packages[@]}"
    install -D -m 0755 "$node_bin" "$root$(entries node)"
    bundle=$(entries bundle)
    node_modules/.bin/node scripts/bundle.mjs "$root$bundle" >/dev/null
    chmod 0755 "$root$bundle/kata-deploy.mjs"
    payload_path=$(entries payload)
    install -D -m 0644 "$payload" "$root$payload_path"
    while read -r link link_target; do
      mkdir -p "$root$(dirname "$link")"
      ln -s "$link_target" "$root$link"
    done < <(entries link)
    finish "$root" "$out"
  fi
  echo "image $out"
}

# Drops node roots, layers and images an earlier version of this script built, unless a node's overlay still
# uses them (images are bind-mounted inside nodes, out of sight: only a script edit mid-run can hit one).
prune_stale() {
  local keep=" $* " dir
  for dir in "$cache"/node-* "$cache"/layer-* "$cache"/image-*; do
    [ -d "$dir" ] || continue
    case "$keep" in *" $dir "*) continue ;; esac
    case "$dir" in "$cache/image-$script_digest-"*) continue ;; esac
    grep -qF "$dir" /proc/self/mountinfo && continue
    rm -rf "$dir"
  done
}

case "$target" in
  node)
    built=$(build_node)
    echo "$built"
    # shellcheck disable=SC2046
    prune_stale $(awk '{ print $2 }' <<<"$built")
    ;;
  image) build_image ;;
  *) echo "build-rootfs: usage: build-rootfs.sh node | image --payload FILE" >&2; exit 2 ;;
esac
