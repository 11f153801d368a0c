#!/usr/bin/env bash
# Prepares what the GPU machine needs from this one: the release binaries (stripped) in .gpu/bin; in .gpu/lib
# libfastwan_attn_qat.so (python/ loads it) and the Debian shared libraries the binaries use that the GPU
# machine lacks or has in another ABI (libsentencepiece). Carry `.gpu` to the device and run
# `scripts/gpu-check.sh` there.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
rm -rf .gpu && mkdir -p .gpu/bin .gpu/lib
for b in fastwan gpu_tests kernel_bench attn_qat_bench; do strip -o ".gpu/bin/$b" "build/bin/$b"; done
strip -o .gpu/lib/libfastwan_attn_qat.so build/bin/libfastwan_attn_qat.so  # gpu_tests, attn_qat_bench, python/
cp -L /usr/lib/x86_64-linux-gnu/libsentencepiece.so.0 .gpu/lib/
du -sh .gpu
