# syntax=docker/dockerfile:1
# kata-deploy image: the bundled CLI on Node 24 plus the Kata release payload, for daemonset.yaml.
#
#   docker build --build-arg KATA_VERSION=3.24.0 --build-arg KATA_SHA256=<sha256 of the tarball> -t kata-deploy-ts .
#
# The payload's sha256 is required: the build refuses a tarball it cannot verify, and the same digest
# is handed to the installer (KATA_PAYLOAD_SHA256), which checks it again on every node before unpacking.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- 1. build the CLI as one minified ESM bundle (scripts/bundle.mjs): no node_modules in the image
#        except koffi's native prebuild beside the bundle; ~50 MiB less idle RSS than dist/ + node_modules
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would compile before the sources are copied; koffi's native prebuild
# arrives as the optional dependency @koromix/koffi-linux-<arch>, which needs no install script.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY scripts/bundle.mjs ./scripts/bundle.mjs
RUN node scripts/bundle.mjs /out/kata-deploy

# --- 2. fetch and verify the Kata release tarball
FROM debian:bookworm-slim AS payload
ARG KATA_VERSION
ARG KATA_SHA256
# Set by buildx: amd64, arm64, s390x, ppc64le (the names Kata's release assets use).
ARG TARGETARCH=amd64
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN set -eu; \
    if [ -z "${KATA_VERSION}" ] || [ -z "${KATA_SHA256}" ]; then \
      echo "set --build-arg KATA_VERSION=<release> and --build-arg KATA_SHA256=<its sha256>" >&2; exit 1; \
    fi; \
    mkdir -p /opt/kata-artifacts; \
    curl -fsSL --retry 3 -o /opt/kata-artifacts/kata-static.tar.zst \
      "https://github.com/kata-containers/kata-containers/releases/download/${KATA_VERSION}/kata-static-${KATA_VERSION}-${TARGETARCH}.tar.zst"; \
    echo "${KATA_SHA256}  /opt/kata-artifacts/kata-static.tar.zst" | sha256sum -c -

# --- 3. runtime: Node 24, the bundled CLI, the payload; nothing else
#        scripts/image/runtime.list is what this stage holds; scripts/testbed/build-rootfs.sh builds the same
#        root without Docker for the test bed, and test/testbed/image.test.ts checks both follow the list.
FROM ${NODE_IMAGE} AS runtime
ARG KATA_VERSION
ARG KATA_SHA256
COPY scripts/image/runtime.list /tmp/runtime.list
# zstd/xz: the installer's own tar reader is fed by the host's `zstd -dc` / `xz -dc` (Node has no xz).
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(awk '$1 == "package" { print $2 }' /tmp/runtime.list) \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/kata-deploy /opt/kata-deploy
COPY --from=payload /opt/kata-artifacts /opt/kata-artifacts
RUN chmod 0755 /opt/kata-deploy/kata-deploy.mjs \
 && awk '$1 == "link" { print $2, $3 }' /tmp/runtime.list | while read -r link target; do ln -s "$target" "$link"; done \
 && rm /tmp/runtime.list
LABEL org.opencontainers.image.title="kata-deploy-ts" \
      org.opencontainers.image.description="Installs Kata Containers ${KATA_VERSION} on Kubernetes nodes" \
      io.katacontainers.version="${KATA_VERSION}"
ENV KATA_PAYLOAD=/opt/kata-artifacts/kata-static.tar.zst \
    KATA_PAYLOAD_SHA256=${KATA_SHA256} \
    HOST_ROOT=/host \
    NODE_ENV=production
# The supervisor's V8 flags (scripts/image/runtime.list says why); its children start without them.
ENTRYPOINT ["/usr/local/bin/node", "--lite-mode", "/opt/kata-deploy/kata-deploy.mjs", "daemon"]
