#!/usr/bin/env bash
# GPU checks on a machine with an NVIDIA Hopper GPU, then one short table.
#   scripts/gpu-check.sh [tests] [bench] [e2e]     (default: all three)
#     tests  the GPU tests (every kernel and model against its CPU reference; what `ctest -L gpu` runs) and
#            `fastwan verify --device cuda` on every golden case
#     bench  kernel_bench (kernels at the 480p shapes: attention in bf16 and sage8 with their pre-processing,
#            the block GEMMs in every linear mode with their error vs the CPU, the glue kernels) and
#            `fastwan bench` (stage times, synthetic weights) in bf16, with FP8 linears, with FP8 linears and
#            8-bit attention, and with NVFP4 linears (emulated on bf16 tensor cores) with bf16 and 8-bit attention
#     e2e    `fastwan synth --preset wan2.1-1.3b`, then `fastwan generate --device cuda` at 81 x 480 x 832 with
#            TAEHV and with the Wan VAE (bf16), and as FastWan-QAD-FP8 (its defaults: FP8 linears, 8-bit attention,
#            TAEHV); the
#            files are read back with an independent reader (OpenCV/FFmpeg); `fastwan bench --e2e` times the same
#            path three times (min and median of every stage, the total with and without loading)
# Binaries: .gpu/bin + .gpu/lib (made here by scripts/gpu-bundle.sh and carried), else build/bin (built if
# absent). Logs go to $OUT (default ./gpu-check-out).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${FASTWAN_BIN_DIR:-build/bin}
[[ -z "${FASTWAN_BIN_DIR:-}" && -x .gpu/bin/gpu_tests ]] && bin=.gpu/bin
export LD_LIBRARY_PATH="$PWD/$bin/../lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
out=${OUT:-gpu-check-out}
mkdir -p "$out"
sections=("$@")
[[ ${#sections[@]} -eq 0 ]] && sections=(tests bench e2e)
want() { [[ " ${sections[*]} " == *" $1 "* ]]; }

if [[ ! -x "$bin/gpu_tests" ]]; then
  echo "== building (no binaries in $bin)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >"$out/build.log" 2>&1 &&
    cmake --build build -j "$(nproc)" >>"$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
  bin=build/bin
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv,noheader | tee "$out/gpu.txt"
date -u +"%Y-%m-%d %H:%M UTC" | tee -a "$out/gpu.txt"
status=0
summary=()

if want tests; then
  echo "== GPU tests"
  # Every step has a time limit, so a hung kernel costs minutes, not the machine's whole lease.
  timeout "${FASTWAN_TESTS_TIMEOUT:-420}" "$bin/gpu_tests" --gtest_color=no >"$out/gpu_tests.log" 2>&1 || status=1
  grep -E "rel L2|max abs|rcp|FAILED|Failure" "$out/gpu_tests.log" | head -70
  summary+=("gpu tests: $(grep -E '^\[  PASSED  \]' "$out/gpu_tests.log" | head -1) $(grep -cE '^\[  FAILED  \] [A-Z]' "$out/gpu_tests.log") failed")
  echo "== golden cases on the GPU"
  for c in tests/data/golden/*/; do
    timeout 120 "$bin/fastwan" verify "$c" --device cuda >"$out/verify_$(basename "$c").log" 2>&1 || status=1
    tail -1 "$out/verify_$(basename "$c").log"
  done | tee "$out/verify_cuda.txt"
  summary+=("verify --device cuda: $(grep -c '^PASS' "$out/verify_cuda.txt") pass, $(grep -c '^FAIL' "$out/verify_cuda.txt") fail")
fi

if want bench; then
  echo "== kernel benchmarks"
  timeout 300 "$bin/kernel_bench" >"$out/kernel_bench.log" 2>&1 || status=1
  sed -n '/^kernel/,$p' "$out/kernel_bench.log"
  for modes in ${FASTWAN_BENCH_MODES:-bf16:bf16 fp8:bf16 fp8:sage8 nvfp4:bf16 nvfp4:sage8}; do
    linear=${modes%:*} attention=${modes#*:} tag=${modes/:/_}
    echo "== fastwan bench --linear $linear --attention $attention (synthetic real-size weights)"
    timeout 300 "$bin/fastwan" bench --preset wan2.1-1.3b --runs 5 --linear "$linear" --attention "$attention" \
      --json "$out/bench_$tag.json" >"$out/bench_$tag.log" 2>&1 || status=1
    tail -22 "$out/bench_$tag.log"
  done
fi

if want e2e; then
  model=${FASTWAN_E2E_DIR:-/tmp/fastwan-wan13b}
  echo "== e2e: synth real-size folder at $model"
  [[ -f "$model/model_index.json" ]] || "$bin/fastwan" synth --preset wan2.1-1.3b --out "$model" --force >"$out/synth.log" 2>&1 || status=1
  # The same weights under a FastWan-QAD-FP8 name: generate picks that checkpoint's defaults (FP8 linears).
  fp8_model=$(dirname "$model")/FastWan-QAD-FP8-1.3B
  ln -sfn "$model" "$fp8_model"
  for run in taehv wan-vae fp8-taehv; do
    dec=${run#fp8-}
    what=(--model "$model" --family fastwan-qad)
    [[ $run == fp8-* ]] && what=(--model "$fp8_model")
    echo "== e2e: fastwan generate --device cuda ${what[*]} --decoder $dec"
    # Device memory in use, sampled every 50 ms while generate runs (all allocations, the CUDA context included).
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 50 >"$out/mem_$run.log" 2>/dev/null &
    sampler=$!
    "$bin/fastwan" generate -p "A curious raccoon peers through a vibrant field of yellow sunflowers." \
      "${what[@]}" --decoder "$dec" --device cuda -o "$out/e2e_$run.y4m" -v \
      >"$out/generate_$run.log" 2>&1 || status=1
    kill $sampler 2>/dev/null
    peak=$(sort -n "$out/mem_$run.log" | tail -1)
    grep -E "^time|wrote|error|modes:" "$out/generate_$run.log"
    echo "peak device memory during generate $run: ${peak} MiB" | tee -a "$out/readback.txt"
    python3 - "$out/e2e_$run.y4m" <<'PY' | tee -a "$out/readback.txt"
import sys, cv2
cap = cv2.VideoCapture(sys.argv[1])
n = 0
while True:
    ok, frame = cap.read()
    if not ok: break
    n += 1; h, w = frame.shape[:2]
print(f"read back {sys.argv[1].split('/')[-1]} with OpenCV/FFmpeg: {n} frames, {w}x{h}, fps {cap.get(cv2.CAP_PROP_FPS):g}")
PY
    summary+=("generate $run: $(grep -E '^time' "$out/generate_$run.log" | head -1)")
  done
  rm -f "$out"/e2e_*.y4m  # too large to bring back
  # The same path timed: min and median of every stage and of the whole run (bf16, then the FP8 defaults).
  for run in bf16 fp8; do
    what=(--model "$model" --family fastwan-qad --linear bf16)
    [[ $run == fp8 ]] && what=(--model "$fp8_model")
    echo "== e2e: fastwan bench --e2e ${what[*]} --runs 3"
    "$bin/fastwan" bench --e2e "${what[@]}" --device cuda --runs 3 >"$out/e2e_bench_$run.log" 2>&1 || status=1
    cat "$out/e2e_bench_$run.log"
    summary+=("bench --e2e $run: $(grep -E '^total without loading' "$out/e2e_bench_$run.log")")
  done
fi

echo
echo "== summary ($(head -1 "$out/gpu.txt" | cut -d, -f1), $(tail -1 "$out/gpu.txt"))"
for s in "${summary[@]}"; do echo "  $s"; done
[[ -f "$out/kernel_bench.log" ]] && grep -E "attention|gemm|quantize|GEMMs" "$out/kernel_bench.log" | sed 's/^/  /'
for f in "$out"/bench_*.log; do [[ -f $f ]] && grep -E "DiT step|total" "$f" | sed "s/^/  $(basename "$f" .log): /"; done
[[ -f "$out/readback.txt" ]] && sed 's/^/  /' "$out/readback.txt"
exit $status
