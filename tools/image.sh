#!/usr/bin/env bash
# Builds the chord container image FROM scratch out of what make built:
# chordd, chordctl, exactly the shared libraries they load, and a passwd
# entry for the unprivileged user the daemon runs as. No base image needed.
# Its HEALTHCHECK is readiness: chordctl health exits 0 only while every
# position of the peer is active, serving its arc (a joining or leaving
# peer is "starting" or "unhealthy", not healthy).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-chord:latest}
out=build/image
root=$out/rootfs
rm -rf "$out"
# /secret: where docker-compose.yml's keygen service writes the cluster
# secret (a named volume takes the directory's owner, the chord user).
mkdir -p "$root/usr/bin" "$root/etc" "$root/data" "$root/tmp" "$root/secret"
cp bin/chordd bin/chordctl "$root/usr/bin/"
for lib in $( { ldd bin/chordd; ldd bin/chordctl; } | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | sort -u); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
echo "chord:x:10001:10001:chord:/data:/nonexistent" >"$root/etc/passwd"
echo "chord:x:10001:" >"$root/etc/group"
echo "hosts: files dns" >"$root/etc/nsswitch.conf"
cat >"$out/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY --chown=10001:10001 rootfs/ /
USER 10001:10001
EXPOSE 7000 8080
HEALTHCHECK --interval=5s --timeout=3s --retries=3 CMD ["/usr/bin/chordctl", "--timeout", "2000", "health"]
ENTRYPOINT ["/usr/bin/chordd"]
CMD ["--listen", "tcp://0.0.0.0:7000", "--advertise", "auto"]
DOCKERFILE
docker build -q -t "$tag" "$out" >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "image $tag built: $((size / 1024 / 1024)) MiB ($size bytes)"

# chord-prometheus:latest, for docker-compose.yml's prometheus service: the
# same way, FROM scratch, out of Debian's prometheus binary (package
# prometheus) and the libraries it loads, with tools/prometheus.yml as its
# configuration. It runs as the chord user, which owns the secret volume's
# files (the token it scrapes with is one of them).
prometheus=/usr/bin/prometheus
if [ ! -x "$prometheus" ]; then
    echo "image chord-prometheus:latest not built: no $prometheus (apt-get install prometheus)" >&2
    exit 0
fi
out=build/image-prometheus
root=$out/rootfs
rm -rf "$out"
mkdir -p "$root/usr/bin" "$root/etc/prometheus" "$root/prometheus" "$root/tmp" "$root/secret"
cp "$prometheus" "$root/usr/bin/"
for lib in $(ldd "$prometheus" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | sort -u); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
cp tools/prometheus.yml "$root/etc/prometheus/prometheus.yml"
echo "chord:x:10001:10001:chord:/prometheus:/nonexistent" >"$root/etc/passwd"
echo "chord:x:10001:" >"$root/etc/group"
echo "hosts: files dns" >"$root/etc/nsswitch.conf"
cat >"$out/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY --chown=10001:10001 rootfs/ /
USER 10001:10001
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--storage.tsdb.retention.time=1d", "--web.listen-address=:9090"]
DOCKERFILE
docker build -q -t chord-prometheus:latest "$out" >/dev/null
size=$(docker image inspect -f '{{.Size}}' chord-prometheus:latest)
echo "image chord-prometheus:latest built: $((size / 1024 / 1024)) MiB ($size bytes)"
