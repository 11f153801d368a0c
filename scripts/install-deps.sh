#!/usr/bin/env bash
# Installs fastwan's build and test dependencies from Debian packages (Debian 12 "bookworm").
# CUDA (nvcc 13) is not a Debian package: when /usr/local/cuda is there the CUDA backend is built too.
#   scripts/install-deps.sh              install what is missing (apt-get update + install)
#   scripts/install-deps.sh --if-missing the same, silent when nothing is missing (what scripts/test.sh does)
# Run it as root (a container without sudo) or as a user: it calls sudo itself, and only when a package is
# missing, so a machine that has everything never asks for a password.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev            # sanitizer + libFuzzer build
  libgtest-dev                        # tests
  nlohmann-json3-dev libcli11-dev     # config files, command line
  libsentencepiece-dev                # UMT5 tokenizer
  libstb-dev                          # PNG frames (stb_image_write, header only)
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev  # MP4 output (optional at run time)
  ffmpeg                              # ffprobe: tests read written videos back with an independent reader
  libcpp-httplib-dev libsqlite3-dev   # fastwan serve: HTTP server, job store
  chromium                            # the browser test (driven by Playwright from npm, tests/browser)
)

# Node and npm (for the browser test's Playwright) come from Debian unless a node with npm is already there.
command -v npm >/dev/null || packages+=(nodejs npm)

quiet=false
case "${1:-}" in
  "") ;;
  --if-missing) quiet=true ;;
  *) echo "install-deps: unknown option '$1' (expected --if-missing or nothing)" >&2; exit 2 ;;
esac

# Playwright for the browser test, from the lock file; it drives the system chromium (no browser download).
npm_ci() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  [[ -d "$dir/node_modules/playwright-core" ]] && return 0
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  $quiet || echo "install-deps: all ${#packages[@]} packages are installed"
  npm_ci
  exit 0
fi
echo "install-deps: installing ${missing[*]}"

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: installing packages needs root: run this script as root, or install sudo" >&2
    exit 1
  fi
  as_root=(sudo)
fi
# sudo resets the environment; apt-get must not ask questions either way.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
npm_ci
