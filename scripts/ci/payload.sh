#!/bin/sh
# Host programs the payload tests and benchmark use: GNU tar and the three decompressors (real archives,
# never mocks), and openssl to make the test HTTPS server's certificate. Idempotent.
set -eu
missing=""
for program in tar gzip xz zstd openssl; do
  command -v "$program" >/dev/null 2>&1 || missing="$missing $program"
done
[ -z "$missing" ] && exit 0
packages=""
for program in $missing; do
  case "$program" in
    xz) packages="$packages xz-utils" ;;
    *) packages="$packages $program" ;;
  esac
done
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages
