#!/usr/bin/env bash
# Prepares what the GPU machine needs from this one, in .gpu (carry it to the device and run
# `scripts/gpu-check.sh` there):
#   scripts/gpu-bundle.sh         the release binaries (stripped) in bin/; in lib/ libfastwan_attn_qat.so
#                                 (python/ loads it) and the Debian shared libraries the binaries use that the GPU
#                                 machine lacks or has in another ABI (sentencepiece, cpp-httplib, ...); both as
#                                 .gpu/bundle.tar.xz, which gpu-check.sh unpacks into .gpu
#   scripts/gpu-bundle.sh serve   for `gpu-check.sh serve` and `replicas` (the server writes MP4): fastwan and the
#                                 MP4 module in the bundle, and the module's libav closure (Debian's, 129
#                                 libraries, 160 MB) as .gpu/mp4lib.tar.xz (49 MB). With the working tree's 40 MB
#                                 (mostly tests/data/golden) that is more than the 64 MiB a device call carries:
#                                 for that call take the golden data out of the tree (it is not needed there),
#                                   git rm -r -q --cached tests/data/golden && echo tests/data/golden/ >> .git/info/exclude
#                                 and put it back right after (nothing is committed in between):
#                                   git reset -q HEAD -- tests/data/golden && sed -i '\#^tests/data/golden/$#d' .git/info/exclude
# The bundle carries sm_90a code only (FASTWAN_BUNDLE_ARCHS, default 90a: the GPU machine is an H100 or H200):
# the fat binary's six architectures would not fit the 64 MiB a call carries beside the working tree. It is
# built in build/ (whose FASTWAN_CUDA_ARCHS cache entry it sets; `cmake -B build -DFASTWAN_CUDA_ARCHS=...`
# sets it back).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTWAN_CUDA_ARCHS="${FASTWAN_BUNDLE_ARCHS:-90a}" >/dev/null
cmake --build build
rm -rf .gpu && mkdir -p .gpu/bin .gpu/lib
# The Debian libraries the binaries link (sentencepiece, cpp-httplib, SQLite, brotli), but not the C/C++ runtime,
# CUDA's own, OpenSSL or zlib: the GPU machine has those, and .gpu/lib is on the library path of every command
# gpu-check.sh runs (curl and python3 included), where a second OpenSSL would not be welcome.
ldd build/bin/fastwan build/bin/gpu_tests | awk '$3 ~ /^\// { print $3 }' | sort -u |
  grep -vE '/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt|libssl|libcrypto|libz|libcuda|libcudart|libcublas|libcublasLt|libcudnn[a-z_]*|libfastwan_[a-z_]+)\.so' |
  xargs -I{} cp -L {} .gpu/lib/
strip -o .gpu/bin/fastwan build/bin/fastwan
if [[ ${1:-} == serve ]]; then
  [[ -f build/bin/libfastwan_mp4.so ]] || { echo "gpu-bundle: build/bin/libfastwan_mp4.so was not built (libav missing?)" >&2; exit 1; }
  strip -o .gpu/bin/libfastwan_mp4.so build/bin/libfastwan_mp4.so
  # Every library the module needs but the C/C++ runtime (the GPU machine's own are newer and compatible).
  scratch=$(mktemp -d)
  mkdir "$scratch/mp4lib"
  ldd build/bin/libfastwan_mp4.so | awk '$3 ~ /^\// { print $3 }' |
    grep -vE '/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt)\.so' |
    xargs -I{} cp -L {} "$scratch/mp4lib/"
  for f in "$scratch"/mp4lib/*; do strip --strip-unneeded "$f" 2>/dev/null || true; done
  tar cJf .gpu/mp4lib.tar.xz -C "$scratch" mp4lib
  rm -rf "$scratch"
else
  for b in gpu_tests kernel_bench attn_qat_bench; do strip -o ".gpu/bin/$b" "build/bin/$b"; done
  strip -o .gpu/lib/libfastwan_attn_qat.so build/bin/libfastwan_attn_qat.so  # gpu_tests, attn_qat_bench, python/
fi
# Compressed: a device call carries 64 MiB with the working tree (40 MiB of it golden data); gpu-check.sh unpacks.
tar cJf .gpu/bundle.tar.xz -C .gpu bin lib
rm -rf .gpu/bin .gpu/lib
du -sh .gpu
