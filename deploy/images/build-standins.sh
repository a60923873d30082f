#!/usr/bin/env bash
# build-standins.sh — offline stand-ins for the public images that
# deploy/docker-compose.yml and deploy/Dockerfile name, built locally under
# the very same names and tags, so `docker compose -f deploy/docker-compose.yml
# up` runs unchanged on a machine that reaches no image registry (only
# Debian's mirror and the Go module proxy).
#
#   deploy/images/build-standins.sh          # build the missing ones
#   deploy/images/build-standins.sh --force  # rebuild them all
#
# The list of images comes from the two files themselves (every `image:` of
# the compose file, every external `FROM` of the Dockerfile); an image with
# no recipe below is an error, so a new one cannot be forgotten. Images
# already present are kept (stand-ins or the real ones, pulled), so a second
# run costs a few `docker image inspect`s. Each stand-in carries the label
# org.liftlabs.standin=true: `docker images -f label=org.liftlabs.standin`
# lists them.
#
# Needs root (debootstrap), debootstrap, a running Docker daemon, and the Go
# toolchain the Dockerfile's golang tag names at $(go env GOROOT).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
compose=$repo/deploy/docker-compose.yml
dockerfile=$repo/deploy/Dockerfile
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=lift-standin/debian:$suite
label=org.liftlabs.standin=true
force=false
[[ ${1:-} == --force ]] && force=true

log() { echo "standins: $*" >&2; }

# One scratch directory for the whole run, removed however it ends.
scratch=$(mktemp -d /var/tmp/lift-standins.XXXXXX)
cleanup() {
	# A debootstrap that was interrupted leaves /proc (and maybe /sys)
	# mounted in its root: unmount before removing anything.
	awk -v r="$scratch/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l
	rm -rf "$scratch"
}
trap cleanup EXIT

have() { docker image inspect "$1" >/dev/null 2>&1; }

# build NAME DOCKERFILE-TEXT [CONTEXT]: the classic builder, which uses
# local images as they are and never asks a registry about a FROM.
build() {
	local name=$1 text=$2 context=${3:-$scratch/empty}
	mkdir -p "$scratch/empty"
	# (Its "legacy builder is deprecated" notice is noise here: shown only
	# with the output of a build that fails.)
	if ! printf '%s\n' "$text" | DOCKER_BUILDKIT=0 docker build --label "$label" -t "$name" -f - "$context" >"$scratch/build.log" 2>&1; then
		cat "$scratch/build.log" >&2
		return 1
	fi
}

# The Debian root every other stand-in starts from: debootstrap minbase
# with CA certificates and time zones, imported as one layer.
debian_base() {
	have "$base" && ! $force && return
	log "$base: debootstrap $suite (about a minute)"
	local root=$scratch/root
	debootstrap --variant=minbase --include=ca-certificates,tzdata "$suite" "$root" "$mirror" >/dev/null
	# This machine's trust store goes in too: where HTTPS (the Go module
	# proxy above all) passes through an intercepting proxy, its CA is only
	# there. The builder and the runtime images inherit it.
	cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/ca-certificates/host-trust-store.crt"
	chroot "$root" update-ca-certificates >/dev/null 2>&1
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' -c "LABEL $label" - "$base" >/dev/null
	rm -rf "$root"
}

# Postgres from Debian's packages, run by an entrypoint that honours the
# official image's POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA
# and POSTGRES_INITDB_ARGS: initdb on first start into the volume, then the
# server in the foreground as the postgres user.
postgres_image() {
	local name=$1 major=${1#postgres:}
	major=${major%%.*}
	build "$name" "FROM $base
RUN echo 'create_main_cluster = false' > /tmp/createcluster.conf \\
 && mkdir -p /etc/postgresql-common && mv /tmp/createcluster.conf /etc/postgresql-common/ \\
 && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-$major >/dev/null \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \\
 && chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql && chmod 700 /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/$major/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT [\"docker-entrypoint.sh\"]
CMD [\"postgres\"]" "$repo/deploy/images"
}

# The Go builder: Debian plus this machine's Go toolchain, which must be
# the version the tag names (the Dockerfile sets GOTOOLCHAIN=local).
golang_image() {
	local name=$1 want=${1#golang:} goroot have_version
	want=go${want%%-*}
	goroot=$(go env GOROOT)
	have_version=$(cat "$goroot/VERSION" | head -1)
	if [[ $have_version != "$want" ]]; then
		log "$name needs $want, this machine has $have_version at $goroot"
		return 1
	fi
	build "$name" "FROM $base
COPY . /usr/local/go
ENV GOLANG_VERSION=${want#go} GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /go/bin /go/src && chmod -R 1777 /go
WORKDIR /go" "$goroot"
}

# Distroless static nonroot: nothing but CA certificates, time zones,
# /etc/passwd and /etc/group with root, nobody and nonroot (65532), a
# sticky /tmp and nonroot's home; runs as 65532 like the real one.
distroless_image() {
	build "$1" "FROM $base AS files
RUN mkdir -p /out/etc/ssl/certs /out/usr/share /out/tmp /out/home/nonroot \\
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \\
 && cp -a /usr/share/zoneinfo /out/usr/share/ \\
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd \\
 && printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > /out/etc/group \\
 && chmod 1777 /out/tmp && chown 65532:65532 /out/home/nonroot
FROM scratch
COPY --from=files /out/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER 65532:65532
WORKDIR /home/nonroot"
}

# curl with a POSIX shell, as curlimages/curl has, running as its
# curl_user (uid 100). Debian's curl (7.88) is older than the tag says; the
# compose file needs only --fail-with-body (7.76).
curl_image() {
	build "$1" "FROM $base
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl >/dev/null \\
 && rm -rf /var/lib/apt/lists/* \\
 && groupadd -g 101 curl_group && useradd -u 100 -g 101 -M -d /home/curl_user curl_user
USER 100:101
ENTRYPOINT [\"/usr/bin/curl\"]"
}

# NATS from the nats-server Go module at the tag's version, laid out as the
# official image of that variant: "-alpine" is a shell image whose
# entrypoint runs nats-server when the command starts with a flag (and has
# wget, which the compose health check uses); the plain tag is scratch with
# /nats-server and its config. Both run as root, as the official ones do.
nats_image() {
	local name=$1 version=${1#nats:} work=$scratch/nats
	version=v${version%%-*}
	mkdir -p "$work"
	log "$name: building nats-server $version from its Go module"
	(cd "$work" && GOWORK=off go mod init standin/nats >/dev/null 2>&1 &&
		GOWORK=off GOFLAGS=-mod=mod go get "github.com/nats-io/nats-server/v2@$version" >/dev/null 2>&1 &&
		GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o nats-server github.com/nats-io/nats-server/v2)
	cat >"$work/nats-server.conf" <<-'EOF'
		# The official image's defaults: client, monitoring and cluster ports.
		port: 4222
		http: 8222
		cluster { port: 6222 }
	EOF
	if [[ $name == *-alpine ]]; then
		cat >"$work/docker-entrypoint.sh" <<-'EOF'
			#!/bin/sh
			set -e
			# As the official image: a command starting with a flag is nats-server's.
			if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
				set -- nats-server "$@"
			fi
			exec "$@"
		EOF
		chmod +x "$work/docker-entrypoint.sh"
		build "$name" "FROM $base
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wget >/dev/null \\
 && rm -rf /var/lib/apt/lists/*
COPY nats-server /usr/local/bin/nats-server
COPY nats-server.conf /etc/nats/nats-server.conf
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
EXPOSE 4222 6222 8222
ENTRYPOINT [\"docker-entrypoint.sh\"]
CMD [\"nats-server\", \"--config\", \"/etc/nats/nats-server.conf\"]" "$work"
		return
	fi
	build "$name" "FROM scratch
COPY nats-server /nats-server
COPY nats-server.conf /nats-server.conf
EXPOSE 4222 6222 8222
ENTRYPOINT [\"/nats-server\"]
CMD [\"--config\", \"nats-server.conf\"]" "$work"
}

# Every external image the two files name, once each.
wanted() {
	awk '$1 == "image:" { print $2 }' "$compose"
	awk 'toupper($1) == "FROM" {
		for (i = 2; i <= NF; i++) if ($i !~ /^--/) { ref = $i; break }
		if (!(ref in stages)) print ref
		for (j = i; j <= NF; j++) if (toupper($j) == "AS") stages[$(j + 1)] = 1
	}' "$dockerfile"
}

debian_base
for image in $(wanted | sort -u); do
	if have "$image" && ! $force; then
		continue
	fi
	log "$image"
	case $image in
	postgres:*) postgres_image "$image" ;;
	golang:*) golang_image "$image" ;;
	gcr.io/distroless/static-debian12:nonroot) distroless_image "$image" ;;
	curlimages/curl:*) curl_image "$image" ;;
	nats:*) nats_image "$image" ;;
	*)
		log "no stand-in recipe for $image: add one to $0"
		exit 1
		;;
	esac
done
