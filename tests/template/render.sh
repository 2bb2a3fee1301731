#!/usr/bin/env bash
# Renders the `cargo generate` template templates/plugin the way cargo-generate would, without
# cargo-generate: copies it to a temp dir, substitutes {{project-name}}, {{crate_name}} and
# {{app_code}}, points `bk-plugin-kit = "0.1"` at this checkout, makes the crate its own
# workspace with this repository's Cargo.lock (versions stay pinned), then walks the generated
# README's workflow:
#
#   1. it builds, is formatted, and `cargo test` passes at once, the schema lock test included:
#      the shipped plugin.lock.json is exactly current (the binary's `lock check` agrees, and
#      `BK_PLUGIN_UPDATE_LOCK=1` leaves it byte for byte as shipped);
#   2. without the lock, the schema lock test asks for it, and `BK_PLUGIN_UPDATE_LOCK=1 cargo
#      test` creates one equivalent to the shipped lock (the same entry, the form as its hash);
#   3. editing the released 1.0.0 in place fails the lock test with the version, field, rule
#      and fix.
#
# The shipped lock holds version 1.0.0's form as its text (key "form"), not as its hash: the
# text contains {{app_code}}, so its hash is only known once the template is rendered. The
# value substituted into that JSON string needs no escaping: cargo-generate.toml restricts
# app_code to ^[a-z][a-z0-9_-]*$, characters a JSON string holds as they are. No other `{{` or
# `{%` may appear anywhere in the template (checked after rendering below): cargo-generate
# renders every file with liquid, which would take them for tags. docs/versioning.md
# ("Starting a new plugin") records a run of the real cargo-generate on this template.
#
# The deploy files are checked too: app_desc.yaml against BK PaaS's rules
# (tests/deploy/check_app_desc.py; needs PyYAML: $BK_PLUGIN_PYTHON, default python3).
#
# Builds go to target/template, so later runs reuse them. Exits non-zero on any failure.
#
#   tests/template/render.sh              render to a temp dir, test, delete it
#   KEEP=1 tests/template/render.sh       keep the rendered crate (its path is printed)
#   RENDER_ONLY=DIR tests/template/render.sh
#                                         only render, to DIR, as cargo-generate would (the
#                                         kit still the published dependency; used by
#                                         tests/deploy/image.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
start=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'render.sh: %s\n' "$*" >&2; exit 1; }

project_name="hello-plugin"
crate_name="${project_name//-/_}"
app_code="bk_hello_plugin"

tmp="$(mktemp -d)"
if [ -n "${KEEP:-}" ]; then trap 'echo "kept $tmp/$project_name"' EXIT; else trap 'rm -rf "$tmp"' EXIT; fi
out="${RENDER_ONLY:-$tmp/$project_name}"

step "render templates/plugin as $project_name (app code $app_code)"
cp -R templates/plugin "$out"
rm "$out/cargo-generate.toml" # cargo-generate does not copy its own configuration
find "$out" -type f -print0 | xargs -0 sed -i \
    -e "s/{{project-name}}/$project_name/g" \
    -e "s/{{crate_name}}/$crate_name/g" \
    -e "s/{{app_code}}/$app_code/g"
if grep -rn -e '{{' -e '{%' "$out"; then fail "placeholders left after rendering (above)"; fi
if [ -n "${RENDER_ONLY:-}" ]; then exit 0; fi

step "app_desc.yaml passes BK PaaS's rules and runs the binary"
"${BK_PLUGIN_PYTHON:-python3}" tests/deploy/check_app_desc.py "$out/app_desc.yaml" "$project_name"

# The published dependency, pointed at this checkout; the crate is its own workspace.
kit_line='bk-plugin-kit = { version = "0.1", features = ["mysql"] }'
grep -qxF "$kit_line" "$out/Cargo.toml" || fail "Cargo.toml has no line $kit_line"
sed -i "s|^bk-plugin-kit = { version = \"0.1\", |bk-plugin-kit = { path = \"$root/bk-plugin-kit\", |" "$out/Cargo.toml"
printf '\n[workspace]\n' >> "$out/Cargo.toml"
cp Cargo.lock "$out/Cargo.lock"
export CARGO_TARGET_DIR="$root/target/template"
cd "$out"
log="$tmp/cargo.log"
shipped="$tmp/shipped.lock.json"

step "format, build"
cargo fmt --check
cargo test --no-run -q

step "cargo test passes at once: the shipped lock is current"
[ -f plugin.lock.json ] || fail "the template ships no plugin.lock.json"
cp plugin.lock.json "$shipped"
cargo test > "$log" 2>&1 || { cat "$log"; fail "cargo test failed on the rendered crate"; }
grep -E '^test (result|.* \.\.\. )' "$log"
grep -qx 'test schema_lock ... ok' "$log" || fail "schema_lock did not run and pass"
cargo run -q -- lock check
BK_PLUGIN_UPDATE_LOCK=1 cargo test -q --test plugin schema_lock
cmp plugin.lock.json "$shipped" \
    || { diff "$shipped" plugin.lock.json; fail "the lock update rewrote the shipped lock"; }

step "without the lock: asked for, created, equivalent to the shipped one"
rm plugin.lock.json
if cargo test -q --test plugin schema_lock > "$log" 2>&1; then
    fail "schema_lock passed without plugin.lock.json"
fi
grep -q 'plugin.lock.json does not exist; run `BK_PLUGIN_UPDATE_LOCK=1 cargo test`' "$log" \
    || { cat "$log"; fail "schema_lock did not ask for the lock"; }
BK_PLUGIN_UPDATE_LOCK=1 cargo test -q
python3 - "$shipped" plugin.lock.json forms/1.0.0/form.js <<'PY'
import hashlib, json, sys
shipped, created = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
form = open(sys.argv[3], encoding="utf-8", newline="").read()
assert list(created["versions"]) == ["1.0.0"] == list(shipped["versions"]), created["versions"]
s, c = shipped["versions"]["1.0.0"], created["versions"]["1.0.0"]
assert c["inputs"]["required"] == ["name"], c["inputs"]
# One entry, but for the form: its text in the shipped lock, its hash in the created one.
assert s.pop("form") == form, "the shipped lock's form is not forms/1.0.0/form.js"
assert c.pop("form_sha256") == hashlib.sha256(form.encode()).hexdigest(), "form_sha256"
assert s == c, (s, c)
print("the created lock is the shipped one, with form_sha256 = sha256(forms/1.0.0/form.js)")
PY
cp "$shipped" plugin.lock.json
cargo test -q --test plugin schema_lock

step "editing the released 1.0.0 in place fails the lock test"
sed -i 's/#\[field(title = "Delay", default = 5)\]/#[field(title = "Delay")]/' src/v1_0_0.rs
if cargo test -q --test plugin schema_lock > "$log" 2>&1; then
    fail "schema_lock passed after 1.0.0 was edited in place"
fi
expected='1.0.0: inputs.delay: input became required — breaks "adding a required input"; release it as 2.0.0 instead'
grep -qF "$expected" "$log" || { cat "$log"; fail "schema_lock did not report: $expected"; }

step "the generated Cargo.lock kept this repository's versions"
python3 - "$root/Cargo.lock" Cargo.lock <<'PY'
import re, sys
def packages(path):
    text = open(path).read()
    return set(re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', text))
repo, generated = packages(sys.argv[1]), packages(sys.argv[2])
drift = sorted(p for p in generated - repo if p[0] != "hello-plugin")
assert not drift, f"versions not in the repository's Cargo.lock: {drift}"
print(f"{len(generated)} packages, all pinned by the repository's Cargo.lock")
PY

printf '\ntemplate OK in %ss\n' "$(( $(date +%s) - start ))"
