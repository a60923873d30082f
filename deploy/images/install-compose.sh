#!/usr/bin/env bash
# install-compose.sh — the `docker compose` v2 CLI plugin, pinned, built from
# its Go module (Debian ships only compose v1) and installed where the docker
# CLI looks for plugins. Does nothing when that version is already there.
#
#   deploy/images/install-compose.sh            # /usr/local/lib/docker/cli-plugins
#   DOCKER_CLI_PLUGINS=~/.docker/cli-plugins deploy/images/install-compose.sh
#
# v2.40.3 is the last v2 release the Go module proxy serves; it builds with
# Go 1.26. Its go.mod has exclude directives, so `go install …@version`
# refuses it: the module is built as the main module from a copy.
set -euo pipefail

version=v2.40.3
dir=${DOCKER_CLI_PLUGINS:-/usr/local/lib/docker/cli-plugins}
dest=$dir/docker-compose

if [[ -x $dest ]] && [[ $("$dest" version --short 2>/dev/null) == "${version#v}" ]]; then
	exit 0
fi
echo "compose: building docker compose $version (a few minutes the first time)" >&2
src=$(GOWORK=off go mod download -json "github.com/docker/compose/v2@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/." "$work"
chmod -R u+w "$work"
mkdir -p "$dir"
(cd "$work" && GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
	-ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" -o "$work/docker-compose" ./cmd)
# Renamed into place: a concurrent run or a running `docker compose` never
# sees a half-written file.
cp "$work/docker-compose" "$dest.$$" && mv "$dest.$$" "$dest"
docker compose version >&2
