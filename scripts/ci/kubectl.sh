#!/usr/bin/env bash
# Unpacks Debian sid's kubectl (client only; it carries kustomize) into .cache/kubectl/usr/bin/ without
# installing it, so CI renders every kustomization under assets/ with a real kubectl even where none is
# installed. Idempotent; prints the binary's path and version. Needs only Debian's apt repositories.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest="$PWD/.cache/kubectl"
if [ ! -x "$dest/usr/bin/kubectl" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  cat >"$work/sources.list" <<LIST
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
LIST
  opts=(-o APT::Sandbox::User=root -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Dir::State::status=/dev/null)
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$work" && apt-get "${opts[@]}" download kubectl >/dev/null)
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  dpkg-deb -x "$work"/kubectl_*.deb "$dest.tmp"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
fi
echo "$dest/usr/bin/kubectl $("$dest/usr/bin/kubectl" version --client 2>/dev/null | head -1)"
