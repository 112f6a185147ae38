#!/usr/bin/env bash
# Unpacks containerd binaries from Debian's newer suites (trixie: 1.7.x, sid: 2.x) into
# .cache/containerd/<suite>/usr/bin/ without installing them, for the real-containerd test matrix.
# Idempotent; prints the path of each containerd binary. Needs only Debian's apt repositories.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache="$PWD/.cache/containerd"
for suite in trixie sid; do
  dest="$cache/$suite"
  if [ ! -x "$dest/usr/bin/containerd" ]; then
    work=$(mktemp -d)
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
    cat >"$work/sources.list" <<LIST
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
LIST
    opts=(-o APT::Sandbox::User=root -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Dir::State::status=/dev/null)
    apt-get "${opts[@]}" update -qq >/dev/null
    (cd "$work" && apt-get "${opts[@]}" download containerd >/dev/null)
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
    dpkg-deb -x "$work"/containerd_*.deb "$dest.tmp"
    mv "$dest.tmp" "$dest"
    rm -rf "$work"
  fi
  echo "$dest/usr/bin/containerd $("$dest/usr/bin/containerd" --version | awk '{print $3}')"
done
