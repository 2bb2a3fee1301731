#!/usr/bin/env bash
# Builds the rendered template's Dockerfile the way BK PaaS builds a Dockerfile module, from a
# source with vendor/ (the offline path of the template's README), and runs the image's binary.
#
#   1. base images, made locally (no registry is reachable here) and kept between runs:
#      a Debian bookworm minbase (debootstrap + podman import) as RUNTIME_IMAGE, and the same
#      with gcc and this machine's Rust toolchain copied in as RUST_IMAGE; both passed as
#      build args, so the committed Dockerfile keeps the public images;
#   2. the template rendered as a user would have it (tests/template/render.sh RENDER_ONLY=1:
#      `bk-plugin-kit = { version = "0.1", ... }`), plus vendor/: the crates.io dependencies
#      (`cargo vendor`) and the kit's own crates as `cargo package` makes them — the crates
#      the kit will publish — so the image build resolves the kit exactly as it will resolve
#      the published one, with no network; Cargo.lock generated against that vendor/;
#   3. `podman build --isolation chroot` of the template's Dockerfile;
#   4. the image checked (non-root user, /app holds the binary only, CA certificates) and its
#      binary run (`podman run` does not work here: `podman create` + `podman mount` + chroot
#      as the image's user) until it answers meta; its `apigw definition` output is written
#      to $1 when given, for tests/deploy/check_apigw_yaml.py.
#
# Cache: the base images are built once per toolchain; podman's layer cache makes a rerun on
# unchanged sources take seconds. Cold: about 4-6 minutes on 2 cores (a release build).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
out_dir="${1:-}"
start=$(date +%s)
step() { printf '\n==> image: %s\n' "$*"; }
fail() { printf 'image.sh: %s\n' "$*" >&2; exit 1; }

if ! command -v podman > /dev/null || ! command -v debootstrap > /dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman debootstrap > /dev/null
fi
podman() { command podman --log-level=error "$@"; }

work="$(mktemp -d)"
container=""
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2> /dev/null || true; wait "$server" 2> /dev/null || true; fi
    if [ -n "$container" ]; then podman umount "$container" > /dev/null 2>&1 || true; podman rm "$container" > /dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

runtime_image="localhost/bk-plugin-ci/debian:bookworm-slim"
toolchain="$(rustc --version | tr -cd 'a-z0-9.-' | head -c 60)"
rust_image="localhost/bk-plugin-ci/rust:$toolchain"

step "base images ($runtime_image, $rust_image)"
if ! podman image exists "$runtime_image"; then
    debootstrap --variant=minbase bookworm "$work/runtime" > "$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
    tar -C "$work/runtime" -c . | podman import -q --change 'CMD ["/bin/bash"]' - "$runtime_image" > /dev/null
    rm -rf "$work/runtime"
fi
if ! podman image exists "$rust_image"; then
    debootstrap --variant=minbase --include=gcc,libc6-dev,ca-certificates bookworm "$work/rust" \
        > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
    sysroot="$(rustc --print sysroot)"
    dest="$work/rust/usr/local/rust"
    mkdir -p "$dest/bin" "$dest/lib/rustlib"
    cp "$sysroot/bin/cargo" "$sysroot/bin/rustc" "$dest/bin/"
    cp -a "$sysroot"/lib/*.so* "$dest/lib/"
    cp -a "$sysroot/lib/rustlib/x86_64-unknown-linux-gnu" "$dest/lib/rustlib/"
    tar -C "$work/rust" -c . | podman import -q \
        --change 'ENV PATH=/usr/local/rust/bin:/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV CARGO_HOME=/usr/local/cargo' - "$rust_image" > /dev/null
    rm -rf "$work/rust"
fi

step "render the template, vendor its dependencies and the kit's crates"
ctx="$work/hello-plugin"
RENDER_ONLY="$ctx" bash tests/template/render.sh > /dev/null
cargo package --offline --no-verify --allow-dirty --quiet \
    -p bk-plugin-macros -p bk-plugin-core -p bk-plugin-engine -p bk-plugin-store -p bk-plugin-http -p bk-plugin-kit
# The crates.io dependencies: the rendered crate patched to this checkout, with this
# repository's Cargo.lock (the versions CI tested), vendored; path crates are not vendored.
patched="$work/patched"
cp -R "$ctx" "$patched"
{
    printf '\n[workspace]\n\n[patch.crates-io]\n'
    for c in macros core engine store http kit; do printf 'bk-plugin-%s = { path = "%s/bk-plugin-%s" }\n' "$c" "$root" "$c"; done
} >> "$patched/Cargo.toml"
cp Cargo.lock "$patched/Cargo.lock"
(cd "$patched" && cargo vendor --quiet "$ctx/vendor" > /dev/null)
# The kit's crates as published: the packaged .crate files, unpacked, with their checksums.
for crate in target/package/bk-plugin-*-0.1.0.crate; do
    name="$(basename "$crate" .crate)"
    tar -C "$ctx/vendor" -xzf "$crate"
    sum="$(sha256sum "$crate" | cut -d' ' -f1)"
    printf '{"files":{},"package":"%s"}' "$sum" > "$ctx/vendor/$name/.cargo-checksum.json"
done
printf '\n[workspace]\n' >> "$ctx/Cargo.toml"
(cd "$ctx" && cargo generate-lockfile --offline --quiet \
    --config 'source.crates-io.replace-with="vendored-sources"' \
    --config 'source.vendored-sources.directory="vendor"')
grep -q '^name = "bk-plugin-kit"' "$ctx/Cargo.lock" || fail "the generated Cargo.lock has no bk-plugin-kit"
python3 - "$root/Cargo.lock" "$ctx/Cargo.lock" <<'PY'
import re, sys
def packages(path):
    return set(re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', open(path).read()))
drift = sorted(p for p in packages(sys.argv[2]) - packages(sys.argv[1]) if p[0] != "hello-plugin")
assert not drift, f"versions not in the repository's Cargo.lock: {drift}"
PY

# Same sources, same layer: podman's cache key covers file times, so give every file one.
find "$ctx" -exec touch -h -d @1700000000 {} +

step "podman build --isolation chroot (the template's Dockerfile)"
image="localhost/bk-plugin-ci/hello-plugin:ci"
build_start=$(date +%s)
podman build --isolation chroot --layers -q \
    --build-arg "RUST_IMAGE=$rust_image" --build-arg "RUNTIME_IMAGE=$runtime_image" \
    -t "$image" "$ctx" > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; fail "podman build failed"; }
echo "built $image in $(( $(date +%s) - build_start ))s"

step "the image: user, files, certificates"
user="$(podman image inspect --format '{{.Config.User}}' "$image")"
[ "$user" = "10001" ] || fail "the image runs as '$user', not the non-root 10001"
container="$(podman create "$image")"
mnt="$(podman mount "$container")"
[ "$(ls "$mnt/app")" = "hello-plugin" ] || fail "/app holds $(ls "$mnt/app"), not the binary only"
[ -s "$mnt/etc/ssl/certs/ca-certificates.crt" ] || fail "no CA certificates in the image"
[ ! -e "$mnt/usr/local/rust" ] && [ ! -d "$mnt/src" ] || fail "build files in the runtime image"

step "the image's binary serves meta (chroot as the image's user)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A command, not a function: a function started with `&` runs in a subshell, `$!` would be that
# subshell, and the cleanup's `kill` would leave the server running.
in_image=(chroot --userspec=10001:10001 "$mnt" /usr/bin/env -i HOME=/app PATH=/usr/bin:/bin)
"${in_image[@]}" BKPAAS_ENVIRONMENT=dev BKPAAS_APP_ID=bk_hello_plugin BK_PLUGIN_LISTEN="127.0.0.1:$port" \
    DATABASE_URL=sqlite:///tmp/bk_plugin.db /app/hello-plugin > "$work/server.log" 2>&1 &
server=$!
python3 - "$port" <<'PY' || { cat "$work/server.log"; fail "the image's binary did not answer meta"; }
import json, sys, time, urllib.request
for _ in range(100):
    try:
        meta = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/bk_plugin/meta/"))
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("no answer")
assert meta["data"]["code"] == "bk_hello_plugin" and meta["data"]["versions"] == ["1.0.0"], meta
print("the image's binary answered meta:", meta["data"]["versions"])
PY
if [ -n "$out_dir" ]; then
    "${in_image[@]}" BKPAAS_ENVIRONMENT=prod BKPAAS_APP_ID=bk_hello_plugin \
        BKPAAS_DEFAULT_PREALLOCATED_URLS='{"prod": "http://apps.example.com/prod--default--bk-hello-plugin/"}' \
        /app/hello-plugin apigw definition /tmp/apigw
    mkdir -p "$out_dir"
    cp "$mnt/tmp/apigw/definition.yaml" "$mnt/tmp/apigw/resources.yaml" "$out_dir/"
fi

printf '\nimage OK in %ss\n' "$(( $(date +%s) - start ))"
