#!/usr/bin/env bash
# GPU checks on a machine with an NVIDIA Hopper GPU, then one short table.
#   scripts/gpu-check.sh [tests] [bench] [e2e] [serve] [replicas] [portable] [attn-qat] [train]  (default: the first four)
#     tests  the GPU tests (every kernel and model against its CPU reference; what `ctest -L gpu` runs) and
#            `fastwan verify --device cuda` on every golden case
#     bench  kernel_bench (kernels at the 480p shapes: attention in bf16 and sage8 with their pre-processing,
#            the block GEMMs in every linear mode with their error vs the CPU, the glue kernels) and
#            `fastwan bench` (stage times, synthetic weights) in bf16, with FP8 linears, with FP8 linears and
#            8-bit attention, and with NVFP4 linears (emulated on bf16 tensor cores) with bf16 and 8-bit attention
#     e2e    `fastwan generate --device cuda` at 81 x 480 x 832 with TAEHV and with the Wan VAE (bf16), and as
#            each FastWan-QAD checkpoint in its defaults (FP8 + sage8, NVFP4 + sage8, NVFP4 + FP4 attention; -v
#            prints the modes); the files are read back with an
#            independent reader (OpenCV/FFmpeg, else ffprobe); `fastwan bench --e2e` times the same path three
#            times (min and median of every stage, the total with and without loading), and twice with
#            --cold (the model's files dropped from the page cache: loading from the disk)
#     serve  `fastwan serve` as FastWan-QAD-FP8 (its defaults) on a free port: once /health says it is ready, a
#            warm-up request, then three `POST /v1/videos/sync` for 81 x 480 x 832, each timed by curl (connect to
#            the MP4's last byte) and its MP4 read back; before it, three runs of `fastwan generate` with the same
#            settings writing the same MP4 (their time without loading); both as min and median, and the
#            difference against issue 15's bound (the server within 0.1 s of generate). Needs the MP4 module.
#     replicas  server throughput (issue 17): FASTWAN_REPLICA_JOBS (8) requests at once to `fastwan serve` with one
#            replica, then with one per GPU (FASTWAN_REPLICAS, default the GPU count; 2 where there is one):
#            videos per minute and the speed-up. Uses serve's settings and bundle.
#     portable  the portable kernel set forced on this GPU (--kernels portable): the DiT's GPU tests, every golden
#            case and `fastwan bench` in bf16 and FP8 + sage8 (issue 20)
#     attn-qat  Attn-QAT's training kernels: attn_qat_bench (issue 16's shapes) and the PyTorch package's tests
#     train  python/examples/train_small.py (FASTWAN_TRAIN_ARGS, FASTWAN_TRAIN_TIMEOUT): exact, drop-in QAT and
#            Attn-QAT training curves as CSV and PNG in $OUT/train
#  tests takes FASTWAN_TESTS_FILTER (a --gtest_filter) and FASTWAN_TESTS_TIMEOUT (seconds, default 540), to split
#  the GPU tests over two device calls.
#  e2e takes FASTWAN_E2E_PARTS, a subset of "generate bench cold" (default all three).
#  e2e and serve share a real-size folder, FASTWAN_E2E_DIR (default /tmp/fastwan-wan13b), synthesized when absent
#  (`fastwan synth --preset ${FASTWAN_SYNTH_PRESET:-wan2.1-1.3b}`), and the three FastWan-QAD checkpoints beside it
#  (links to its files, each checkpoint's model card). serve's FASTWAN_SERVE_DEVICE (cuda), FASTWAN_SERVE_SIZE (832x480),
#  FASTWAN_SERVE_FRAMES (81) and FASTWAN_SERVE_RUNS (3) let it run on the CPU with a tiny model:
#    FASTWAN_E2E_DIR=/tmp/fw-tiny/wan FASTWAN_SYNTH_PRESET=tiny FASTWAN_SERVE_DEVICE=cpu FASTWAN_SERVE_SIZE=64x48 \
#      FASTWAN_SERVE_FRAMES=9 FASTWAN_BIN_DIR=build/bin scripts/gpu-check.sh serve
# One device call runs at most 10 minutes: run the sections in separate calls (tests; bench; e2e; serve), each
# well inside that (gpu_tests alone may take several minutes: its CPU oracles run the DiT in every mode).
# Binaries: .gpu/bin + .gpu/lib (made here by scripts/gpu-bundle.sh and carried), else build/bin (built if
# absent). Logs go to $OUT (default ./gpu-check-out); where $OUT is set (the device tool's folder), they end as
# $OUT/summary.txt and $OUT/logs.tar.xz (every log, JSON, CSV and plot).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# The bundle arrives compressed (scripts/gpu-bundle.sh): unpacked into .gpu/bin and .gpu/lib at every call (the
# device keeps ignored files between calls, so an earlier call's binaries may be there).
if [[ -f .gpu/bundle.tar.xz ]]; then rm -rf .gpu/bin .gpu/lib && tar xJf .gpu/bundle.tar.xz -C .gpu; fi
bin=${FASTWAN_BIN_DIR:-build/bin}
[[ -z "${FASTWAN_BIN_DIR:-}" && -x .gpu/bin/fastwan ]] && bin=.gpu/bin
export LD_LIBRARY_PATH="$PWD/$bin/../lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
out=${OUT:-gpu-check-out}
mkdir -p "$out"
sections=("$@")
[[ ${#sections[@]} -eq 0 ]] && sections=(tests bench e2e serve)
want() { [[ " ${sections[*]} " == *" $1 "* ]]; }
# `fastwan verify --device cuda` on every golden case (tag: the log names; further arguments go to verify), a
# line each in $out/verify_<tag>.txt. A component without a GPU path (attn_qat: training kernels, which
# gpu_tests checks against the same reference) is a SKIP, not a FAIL.
verify_golden() {
  local tag=$1 c log
  shift
  for c in tests/data/golden/*/; do
    log="$out/verify_${tag}_$(basename "$c").log"
    timeout 120 "$bin/fastwan" verify "$c" --device cuda "$@" >"$log" 2>&1
    if grep -q "has no cuda path" "$log"; then echo "SKIP $(tail -1 "$log" | sed 's/^FAIL //')"; else tail -1 "$log"; fi
  done | tee "$out/verify_$tag.txt"
  if grep -q '^FAIL' "$out/verify_$tag.txt"; then status=1; fi
}
verify_counts() {
  echo "$(grep -c '^PASS' "$out/verify_$1.txt") pass, $(grep -c '^FAIL' "$out/verify_$1.txt") fail," \
    "$(grep -c '^SKIP' "$out/verify_$1.txt") without a GPU path"
}

if [[ ! -x "$bin/fastwan" ]]; then
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
  timeout "${FASTWAN_TESTS_TIMEOUT:-540}" "$bin/gpu_tests" --gtest_color=no \
    --gtest_filter="${FASTWAN_TESTS_FILTER:-*}" >"$out/gpu_tests.log" 2>&1 || status=1
  grep -E "rel L2|max abs|rcp|FAILED|Failure" "$out/gpu_tests.log" | head -70
  summary+=("gpu tests: $(grep -E '^\[  PASSED  \]' "$out/gpu_tests.log" | head -1) $(grep -cE '^\[  FAILED  \] [A-Z]' "$out/gpu_tests.log") failed")
  echo "== golden cases on the GPU"
  verify_golden cuda
  summary+=("verify --device cuda: $(verify_counts cuda)")
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

# The portable kernel set (issue 20) forced on this Hopper GPU: the DiT's GPU tests (every mode) and every
# golden case with --kernels portable (the attention kernel tests cover both sets in `tests` already), and
# `fastwan bench` in bf16 and in FastWan-QAD-FP8's modes beside the Hopper set's rows of `bench`.
if want portable; then
  echo "== GPU tests of the DiT on the portable kernels (FASTWAN_TEST_KERNELS=portable)"
  FASTWAN_TEST_KERNELS=portable timeout "${FASTWAN_TESTS_TIMEOUT:-300}" "$bin/gpu_tests" --gtest_color=no \
    --gtest_filter='*WanDit*:*Attention*:*Sage8Kernel*:*Fp4Kernel*' >"$out/gpu_tests_portable.log" 2>&1 || status=1
  grep -E "portable|rel L2|FAILED|Failure" "$out/gpu_tests_portable.log" | head -60
  summary+=("gpu tests (portable): $(grep -E '^\[  PASSED  \]' "$out/gpu_tests_portable.log" | head -1) $(grep -cE '^\[  FAILED  \] [A-Z]' "$out/gpu_tests_portable.log") failed")
  echo "== golden cases on the GPU, --kernels portable"
  verify_golden portable --kernels portable
  summary+=("verify --device cuda --kernels portable: $(verify_counts portable)")
  for modes in ${FASTWAN_PORTABLE_BENCH_MODES:-bf16:bf16 fp8:sage8}; do
    linear=${modes%:*} attention=${modes#*:} tag=${modes/:/_}
    echo "== fastwan bench --kernels portable --linear $linear --attention $attention"
    timeout 300 "$bin/fastwan" bench --preset wan2.1-1.3b --runs 3 --kernels portable --linear "$linear" \
      --attention "$attention" --json "$out/bench_portable_$tag.json" >"$out/bench_portable_$tag.log" 2>&1 || status=1
    tail -22 "$out/bench_portable_$tag.log"
  done
fi

# The real-size folder of e2e and serve (a Wan2.1 model card), synthesized when absent and kept between runs, and
# the same weights as FastWan-QAD-FP8-1.3B: a folder of links to its files with a model card that names that
# checkpoint, so generate and serve take its defaults (FP8 linears, 8-bit attention, DMD, TAEHV). The model card
# is the strongest evidence of the family: a link to the whole folder, with the Wan2.1 card, gets Wan2.1's.
model=${FASTWAN_E2E_DIR:-/tmp/fastwan-wan13b}
prompt="A curious raccoon peers through a vibrant field of yellow sunflowers."
fp8_model=$(dirname "$model")/FastWan-QAD-FP8-1.3B
# The three FastWan-QAD checkpoints over the same weights, each with its own model card (and so its defaults):
# FP8 linears + sage8, NVFP4 linears + sage8 (-SA2), NVFP4 linears + FP4 attention.
checkpoints=(FastWan-QAD-FP8-1.3B FastWan-QAD-1.3B-SA2 FastWan-QAD-1.3B)
prepare_model() {
  if [[ ! -f "$model/model_index.json" ]]; then
    echo "== synth ${FASTWAN_SYNTH_PRESET:-wan2.1-1.3b} folder at $model"
    timeout 900 "$bin/fastwan" synth --preset "${FASTWAN_SYNTH_PRESET:-wan2.1-1.3b}" --out "$model" --force \
      >"$out/synth.log" 2>&1 || { status=1; tail -5 "$out/synth.log"; }
  fi
  for name in "${checkpoints[@]}"; do
    local dir
    dir=$(dirname "$model")/$name
    [[ -L "$dir" ]] && rm "$dir"  # the link earlier versions of this script made
    mkdir -p "$dir"
    for f in "$model"/*; do [[ ${f##*/} == README.md ]] || ln -sfn "$f" "$dir/"; done
    printf -- '---\nbase_model: Wan-AI/Wan2.1-T2V-1.3B-Diffusers\n---\n# %s (synthetic)\n\n%s\n' "$name" \
      "The weights of $model under this checkpoint's name (scripts/gpu-check.sh)." >"$dir/README.md"
  done
}

# Reads a video back with a reader independent of ours: OpenCV (FFmpeg inside), else ffprobe.
readback() {
  [[ -f "$1" ]] || { echo "read back ${1##*/}: no such file"; return 1; }
  python3 - "$1" 2>/dev/null <<'PY' && return
import sys, cv2
cap = cv2.VideoCapture(sys.argv[1])
n = 0
while True:
    ok, frame = cap.read()
    if not ok: break
    n += 1; h, w = frame.shape[:2]
print(f"read back {sys.argv[1].split('/')[-1]} with OpenCV/FFmpeg: {n} frames, {w}x{h}, fps {cap.get(cv2.CAP_PROP_FPS):g}")
PY
  command -v ffprobe >/dev/null || { echo "read back ${1##*/}: neither OpenCV nor ffprobe is here"; return 1; }
  local k v n=0 w=0 h=0 fps=0
  while IFS='=' read -r k v; do
    case $k in nb_read_frames) n=$v ;; width) w=$v ;; height) h=$v ;; r_frame_rate) fps=$v ;; esac
  done < <(ffprobe -v error -count_frames -select_streams v:0 \
             -show_entries stream=nb_read_frames,width,height,r_frame_rate -of default=nw=1 "$1" 2>&1)
  echo "read back ${1##*/} with ffprobe: $n frames, ${w}x$h, fps ${fps%/1}"
}

# fetch OUT URL [JSON_FILE]: a GET, or a POST of the JSON file; the answer's body goes to OUT. Prints "STATUS
# SECONDS VIDEO_ID" (curl's time_total: from connecting to the last byte; VIDEO_ID from X-Video-Id, or -). Where
# curl is missing, Python's urllib does the same.
fetch() {
  if command -v curl >/dev/null; then
    local data=() answer
    [[ $# -ge 3 ]] && data=(-H 'Content-Type: application/json' --data-binary "@$3")
    answer=$(curl -s --max-time "${FASTWAN_SERVE_REQUEST_TIMEOUT:-600}" -o "$1" -D "$1.headers" "${data[@]}" \
      -w '%{http_code} %{time_total}' "$2")
    echo "$answer $({ tr -d '\r' <"$1.headers"; } 2>/dev/null | sed -n 's/^x-video-id: *//Ip' | grep . || echo -)"
    rm -f "$1.headers"
    return
  fi
  python3 - "$@" <<'PY'
import sys, time, urllib.request, urllib.error
out, url = sys.argv[1:3]
body = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else None
request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
t0 = time.perf_counter()
try:
    with urllib.request.urlopen(request, timeout=600) as r: status, data, vid = r.status, r.read(), r.headers.get("X-Video-Id")
except urllib.error.HTTPError as e: status, data, vid = e.code, e.read(), None
except OSError: status, data, vid = 0, b"", None
seconds = time.perf_counter() - t0
open(out, "wb").write(data)
print(status, f"{seconds:.6f}", vid or "-")
PY
}

# The numbers on stdin: "MIN MEDIAN".
# `fastwan serve --model $fp8_model --device $dev --port 0 ARGS` in the background, its output in LOG (the first
# argument): sets server (its pid) and url; succeeds once /health answers 200 (the models loaded), fails after
# FASTWAN_SERVE_LOAD_TIMEOUT seconds or when the server exits. serve_cleanup stops it.
start_server() {
  local log=$1 deadline=$((SECONDS + ${FASTWAN_SERVE_LOAD_TIMEOUT:-300}))
  shift
  timeout -k 20 "${FASTWAN_SERVE_TIMEOUT:-900}" "${fastwan[@]}" serve --model "$fp8_model" --device "$dev" --port 0 \
    "$@" >"$log" 2>&1 &
  server=$! url=''
  # The first line names the port (--port 0: a free one).
  while ((SECONDS < deadline)) && kill -0 "$server" 2>/dev/null; do
    [[ -z $url ]] && url=$(sed -n 's|^fastwan serve: .* on \(http://[^ ]*\) .*|\1|p' "$log" | head -1)
    [[ -n $url && $(fetch "$scratch/health.json" "$url/health") == 200* ]] && return 0
    sleep 0.2
  done
  return 1
}
# Stops start_server's server (SIGTERM; timeout passes it on, and a KILL 20 s later if it is still there) and removes
# the section's scratch folder: at the end of a section, or when this script stops early (trap ... EXIT).
serve_cleanup() {
  [[ -n ${server:-} ]] && { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; server_rc=$? server=; }
  rm -rf "${scratch:-}"
  trap - EXIT
}
min_median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f %.3f\n", v[1], NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

e2e_part() { [[ " ${FASTWAN_E2E_PARTS:-generate bench cold} " == *" $1 "* ]]; }
if want e2e; then
  prepare_model
  # bf16 with each decoder, then each checkpoint in its defaults (the modes it was trained with, TAEHV).
  e2e_part generate && for run in taehv wan-vae "${checkpoints[@]}"; do
    dec=taehv what=(--model "$(dirname "$model")/$run")
    [[ $run == taehv || $run == wan-vae ]] && dec=$run what=(--model "$model" --family fastwan-qad)
    echo "== e2e: fastwan generate --device cuda ${what[*]} --decoder $dec"
    # Device memory in use, sampled every 50 ms while generate runs (all allocations, the CUDA context included).
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 50 >"$out/mem_$run.log" 2>/dev/null &
    sampler=$!
    timeout 300 "$bin/fastwan" generate -p "$prompt" "${what[@]}" --decoder "$dec" --device cuda -o "$out/e2e_$run.y4m" -v \
      >"$out/generate_$run.log" 2>&1 || status=1
    kill $sampler 2>/dev/null
    peak=$(sort -n "$out/mem_$run.log" | tail -1)
    grep -E "^time|wrote|error|modes:" "$out/generate_$run.log"
    echo "peak device memory during generate $run: ${peak} MiB" | tee -a "$out/readback.txt"
    readback "$out/e2e_$run.y4m" | tee -a "$out/readback.txt"
    summary+=("generate $run: $(grep -E '^time' "$out/generate_$run.log" | head -1)")
  done
  rm -f "$out"/e2e_*.y4m  # too large to bring back
  # The same path timed: min and median of every stage and of the whole run (bf16, then the FP8 defaults).
  e2e_part bench && for run in bf16 fp8; do
    what=(--model "$model" --family fastwan-qad --linear bf16)
    [[ $run == fp8 ]] && what=(--model "$fp8_model")
    echo "== e2e: fastwan bench --e2e ${what[*]} --runs 3"
    timeout 300 "$bin/fastwan" bench --e2e "${what[@]}" --device cuda --runs 3 >"$out/e2e_bench_$run.log" 2>&1 ||
      status=1
    cat "$out/e2e_bench_$run.log"
    summary+=("bench --e2e $run: $(grep -E '^total without loading' "$out/e2e_bench_$run.log"), $(grep -E '^peak device memory' "$out/e2e_bench_$run.log" | cut -d' ' -f1-5)")
  done
  # Loading from the disk: the FP8 defaults with the model's files dropped from the page cache before each run.
  if e2e_part cold; then
    echo "== e2e: fastwan bench --e2e --cold --model $fp8_model --runs 2"
    timeout 300 "$bin/fastwan" bench --e2e --cold --model "$fp8_model" --device cuda --runs 2 \
      >"$out/e2e_bench_cold.log" 2>&1 || status=1
    cat "$out/e2e_bench_cold.log"
    summary+=("bench --e2e --cold fp8: $(grep -E '^total  ' "$out/e2e_bench_cold.log")")
  fi
fi

# Attn-QAT's training kernels (issue 16): their benchmark at the issue's shapes, the Python package's tests
# (the op against the kernels and the CPU reference, autograd composition) and the small training run of the
# paper's finding (exact, drop-in QAT, Attn-QAT), which writes a CSV and a PNG into $out/train.
if want attn-qat; then
  echo "== Attn-QAT training kernels: attn_qat_bench"
  timeout 240 "$bin/attn_qat_bench" >"$out/attn_qat_bench.log" 2>&1 || status=1
  cat "$out/attn_qat_bench.log"
  summary+=("$(grep -E '^(forward|backward)' "$out/attn_qat_bench.log" | awk '{ printf "%s %s TFLOP/s; ", $1, $NF }')")
  export FASTWAN_ATTN_QAT_LIB="$PWD/$bin/../lib/libfastwan_attn_qat.so"
  [[ -f $FASTWAN_ATTN_QAT_LIB ]] || FASTWAN_ATTN_QAT_LIB="$PWD/build/bin/libfastwan_attn_qat.so"
  echo "== Attn-QAT through PyTorch: python/tests ($(python3 -c 'import torch; print("torch", torch.__version__)' 2>&1 | tail -1))"
  PYTHONPATH=python timeout 300 python3 -m unittest discover -s python/tests -v >"$out/python_tests.log" 2>&1 || status=1
  grep -E "rel L2|^Ran|^OK|FAILED|Error|skipped" "$out/python_tests.log" | head -40
  summary+=("python tests: $(grep -E '^(OK|FAILED)' "$out/python_tests.log" | tail -1)")
fi
if want train; then
  echo "== Attn-QAT small training run: python/examples/train_small.py ${FASTWAN_TRAIN_ARGS:-}"
  # shellcheck disable=SC2086  # FASTWAN_TRAIN_ARGS is a list of options
  FASTWAN_ATTN_QAT_LIB=${FASTWAN_ATTN_QAT_LIB:-$PWD/$bin/../lib/libfastwan_attn_qat.so} PYTHONPATH=python \
    timeout "${FASTWAN_TRAIN_TIMEOUT:-560}" python3 python/examples/train_small.py --device cuda --out-dir "$out/train" \
    ${FASTWAN_TRAIN_ARGS:-} >"$out/train.log" 2>&1 || status=1
  tail -25 "$out/train.log"
  summary+=("train_small: $(tail -1 "$out/train.log")")
fi

# The server answers MP4 only: without the MP4 module (libfastwan_mp4.so and libav beside the binary) every job
# would fail, so the section says why and stops. A bundle made by `gpu-bundle.sh serve` carries libav as
# .gpu/mp4lib.tar.xz: unpacked here and put on the library path of fastwan only (not of curl or python3).
fastwan=("$bin/fastwan")
if (want serve || want replicas) && [[ -f .gpu/mp4lib.tar.xz ]]; then
  mp4lib=${TMPDIR:-/tmp}/fastwan-mp4lib
  [[ -d $mp4lib/mp4lib ]] || { mkdir -p "$mp4lib" && tar xJf .gpu/mp4lib.tar.xz -C "$mp4lib"; }
  fastwan=(env "LD_LIBRARY_PATH=$mp4lib/mp4lib:$LD_LIBRARY_PATH" "$bin/fastwan")
fi
mp4=$( (want serve || want replicas) && timeout 30 "${fastwan[@]}" --version 2>&1 | sed -n 's/^MP4 output: //p')
# Whether a server section cannot run here (the server writes MP4); says so for the section named first.
no_mp4() {
  [[ $mp4 == "libfastwan_mp4.so loaded" ]] && return 1
  echo "== $1: not run: the server writes MP4, and here ${mp4:-fastwan --version did not answer}"
  status=1
  summary+=("$1: not run, no MP4 output here (fastwan --version)")
}
if want serve && ! no_mp4 serve; then
  prepare_model
  dev=${FASTWAN_SERVE_DEVICE:-cuda} size=${FASTWAN_SERVE_SIZE:-832x480} frames=${FASTWAN_SERVE_FRAMES:-81}
  runs=${FASTWAN_SERVE_RUNS:-3} seed=1024
  width=${size%x*} height=${size#*x}
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/fastwan-serve.XXXXXX") server='' server_rc=''
  trap serve_cleanup EXIT
  trap 'exit 130' INT TERM
  : >"$out/serve_times.txt"
  : >"$out/serve_generate_times.txt"
  # generate first, alone on the device: the same settings and the same kind of file (MP4), a fresh process each
  # run; its time without loading (total minus the "... load" stages) is what the server must match.
  echo "== serve: fastwan generate --device $dev --model $fp8_model ${width}x$height, $frames frames, x$runs"
  for ((i = 1; i <= runs; i++)); do
    timeout 300 "${fastwan[@]}" generate -p "$prompt" --model "$fp8_model" --device "$dev" -W "$width" -H "$height" \
      --frames "$frames" -s $seed -o "$scratch/generate_$i.mp4" --json "$out/serve_generate_$i.json" \
      >"$out/serve_generate_$i.log" 2>&1 || status=1
    grep -E "^time|error" "$out/serve_generate_$i.log"
    python3 -c 'import json, sys; j = json.load(open(sys.argv[1]))
print("%.6f" % (j["total_seconds"] - sum(s["seconds"] for s in j["stages"] if s["name"].endswith(" load"))))' \
      "$out/serve_generate_$i.json" >>"$out/serve_generate_times.txt" 2>/dev/null
  done
  grep -m1 -E "^modes:" "$out/serve_generate_1.log"
  readback "$scratch/generate_1.mp4" | tee -a "$out/readback.txt"

  echo "== serve: fastwan serve --device $dev --model $fp8_model, then $runs POST /v1/videos/sync"
  started=$SECONDS ready=''
  start_server "$out/serve.log" --output-dir "$scratch/videos" && ready=1
  echo "$(head -1 "$out/serve.log"); $([[ -n $ready ]] && echo "ready $((SECONDS - started)) s after the start" || echo "not ready")"
  if [[ -z $ready ]]; then
    status=1
    tail -5 "$out/serve.log"
    summary+=("serve: the server did not get ready (serve.log)")
  else
    body="{\"prompt\": \"$prompt\", \"size\": \"$size\", \"num_frames\": $frames, \"seed\": $seed}"
    echo "$body" >"$scratch/body.json"
    echo "request: $body"
    for ((i = 0; i <= runs; i++)); do
      request=request && ((i == 0)) && request=warm-up
      read -r code seconds id < <(fetch "$scratch/sync.mp4" "$url/v1/videos/sync" "$scratch/body.json")
      # The job's own stage times and settings (no "... load" stage should be in them: the models stay loaded).
      fetch "$scratch/job.json" "$url/v1/videos/$id" >/dev/null
      job=$(python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); t = j["timings"]
print("stages %.3f s (%s), modes %s" % (t["total"], ", ".join("%s %.3f" % kv for kv in t.items() if kv[0] != "total"),
      j["settings"]["modes"]))' "$scratch/job.json" 2>/dev/null)
      echo "$request $i: HTTP $code in $seconds s, $id: ${job:-no job record}"
      [[ $code == 200 ]] || { status=1; head -c 300 "$scratch/sync.mp4"; echo; continue; }
      ((i > 0)) && echo "$seconds" >>"$out/serve_times.txt"
    done
    readback "$scratch/sync.mp4" | sed 's/sync.mp4/the last sync answer/' | tee -a "$out/readback.txt"
  fi
  serve_cleanup
  trap - INT TERM
  echo "server stopped (exit status $server_rc)"
  read -r serve_min serve_median < <(min_median <"$out/serve_times.txt")
  read -r gen_min gen_median < <(min_median <"$out/serve_generate_times.txt")
  if [[ -n ${serve_min:-} && -n ${gen_min:-} ]]; then
    difference=$(awk -v a="$serve_min" -v b="$gen_min" -v c="$serve_median" -v d="$gen_median" 'BEGIN {
      printf "min %+.3f s, median %+.3f s: %s the 0.1 s bound (medians)", a - b, c - d, c - d <= 0.1 ? "within" : "OVER" }')
    lines=("serve /v1/videos/sync ($dev, $size, $frames frames): min $serve_min s, median $serve_median s ($(wc -l <"$out/serve_times.txt") requests after a warm-up)"
      "generate to MP4 without loading (same settings): min $gen_min s, median $gen_median s ($(wc -l <"$out/serve_generate_times.txt") runs)"
      "serve - generate: $difference")
    printf '%s\n' "${lines[@]}"
    summary+=("${lines[@]}")
  else
    status=1
    summary+=("serve: no timings (serve.log, serve_generate_*.log)")
  fi
fi

if want replicas && ! no_mp4 replicas; then
  # Server throughput with one replica per GPU against one replica (issue 17: >= 3.8x with 4): the same stream
  # of FASTWAN_REPLICA_JOBS asynchronous requests (POST /v1/videos, all at once) to FastWan-QAD-FP8's defaults,
  # timed from the first request to the last job's completion.
  prepare_model
  dev=${FASTWAN_SERVE_DEVICE:-cuda} size=${FASTWAN_SERVE_SIZE:-832x480} frames=${FASTWAN_SERVE_FRAMES:-81}
  jobs=${FASTWAN_REPLICA_JOBS:-8}
  many=${FASTWAN_REPLICAS:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')}
  : >"$out/replicas.txt"
  for replicas in 1 $((many > 1 ? many : 2)); do
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/fastwan-replicas.XXXXXX") server='' server_rc=''
    trap serve_cleanup EXIT
    echo "== replicas: fastwan serve --replicas $replicas --device $dev, $jobs requests of $size x $frames frames"
    if ! start_server "$out/replicas_$replicas.log" --replicas "$replicas" --queue "$jobs" --output-dir "$scratch/videos"; then
      status=1
      tail -3 "$out/replicas_$replicas.log"
      serve_cleanup
      continue
    fi
    python3 - "$url" "$jobs" "$size" "$frames" "$prompt" "$replicas" <<'PY' | tee -a "$out/replicas.txt" || status=1
import json, sys, time, urllib.request
url, jobs, size, frames, prompt, replicas = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
def call(path, body=None):
    req = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)
start = time.monotonic()
ids = [call("/v1/videos", {"prompt": prompt, "size": size, "num_frames": frames, "seed": i})["id"] for i in range(jobs)]
status = {}
while len(status) < jobs and time.monotonic() - start < 1800:
    for i in ids:
        if i not in status:
            v = call("/v1/videos/" + i)
            if v["status"] in ("completed", "failed"): status[i] = v["status"]
    time.sleep(0.05)
seconds = time.monotonic() - start
done = sum(s == "completed" for s in status.values())
print(f"{replicas} {jobs} {done} {seconds:.3f}")
sys.exit(0 if done == jobs else 1)
PY
    serve_cleanup
  done
  trap - INT TERM
  read -r one_r _ _ one_s < <(head -1 "$out/replicas.txt")
  while read -r r n done_n s; do
    line="serve --replicas $r ($dev, $size, $frames frames): $done_n of $n jobs in $s s, $(awk -v n="$done_n" -v s="$s" 'BEGIN { printf "%.2f", 60 * n / s }') videos/min"
    [[ $r != "${one_r:-}" && -n ${one_s:-} ]] && line+=", $(awk -v a="$one_s" -v b="$s" 'BEGIN { printf "%.2fx", a / b }') one replica's throughput"
    echo "$line"
    summary+=("$line")
  done <"$out/replicas.txt"
fi

{
  echo
  echo "== summary ($(head -1 "$out/gpu.txt" | cut -d, -f1), $(tail -1 "$out/gpu.txt"))"
  for s in "${summary[@]}"; do echo "  $s"; done
  [[ -f "$out/kernel_bench.log" ]] && grep -E "attention|gemm|quantize|GEMMs" "$out/kernel_bench.log" | sed 's/^/  /'
  for f in "$out"/bench_*.log; do [[ -f $f ]] && grep -E "DiT step|total" "$f" | sed "s/^/  $(basename "$f" .log): /"; done
  [[ -f "$out/readback.txt" ]] && sed 's/^/  /' "$out/readback.txt"
} | tee "$out/summary.txt"
# On the device machine ($OUT set by the device tool, which brings back only a few files of a call), every log,
# JSON, plot and CSV goes into one logs.tar.xz beside summary.txt.
if [[ -n ${OUT:-} ]]; then
  (cd "$out" && find . -type f ! -name summary.txt ! -name logs.tar.xz -print0 | tar cJf logs.tar.xz --null -T - &&
    find . -mindepth 1 ! -name summary.txt ! -name logs.tar.xz -delete)
fi
exit $status
