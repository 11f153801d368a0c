#!/usr/bin/env bash
# Installs fastwan's build and test dependencies from Debian packages (Debian 12 "bookworm").
# CUDA (nvcc 13) is not a Debian package: when /usr/local/cuda is there the CUDA backend is built too.
#   scripts/install-deps.sh              install (apt-get update + install)
#   scripts/install-deps.sh --if-missing install only if a package is missing (what scripts/test.sh does)
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

# Playwright for the browser test, from the lock file; it drives the system chromium (no browser download).
# Node and npm come from Debian unless a node with npm is already installed.
npm_ci() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  [[ -d "$dir/node_modules/playwright-core" ]] && return 0
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
}
command -v npm >/dev/null || packages+=(nodejs npm)

if [[ "${1:-}" == "--if-missing" ]]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    npm_ci
    exit 0
  fi
  echo "install-deps: installing missing packages: ${missing[*]}"
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
npm_ci
