#!/usr/bin/env bash
# The VLM reader's GPU check, as one prepared run on a lent H100/H200 (see bench/bench_vlm.py).
# That machine has CUDA torch and no registry: docproc's other dependencies travel as cp312 wheels
# in .whl/ (README "Performance": how to download them), installed into /tmp/site. Writes one JSON
# line per configuration to $OUT/results.jsonl and each run's log beside it.
set -u
OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "wheel install failed"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD
python3 -c "from importlib.metadata import version as v; import torch, xgrammar; print(*(f'{n} {v(n)}' for n in ('torch', 'transformers', 'xgrammar', 'torchvision')))" \
  >>"$OUT/gpu.txt" || exit 1
cat "$OUT/gpu.txt"

# One random Qwen2-VL-2B-shaped model (1,008 visual tokens per page), shared by every run.
python3 - <<'EOF' 2>&1 | grep -v "it/s" | tail -3
import sys, time
sys.path.insert(0, "tests/readers")
import tiny_vlm
t = time.perf_counter()
tiny_vlm.save_random_qwen2vl("/tmp/qwen2vl2b", text=tiny_vlm.QWEN2VL_2B_TEXT, vision=tiny_vlm.QWEN2VL_2B_VISION,
                             max_pixels=1008 * 28 * 28, dtype="bfloat16", device="cuda")
print(f"model built in {time.perf_counter() - t:.1f} s")
EOF

run() {  # name, time limit (s), bench arguments
  local name=$1 limit=$2; shift 2
  echo "== $name: $*"
  timeout -k 10 "$limit" python3 bench/bench_vlm.py --model-dir /tmp/qwen2vl2b "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  if [ $rc -eq 0 ]; then tail -1 "$OUT/$name.log" | tee -a "$OUT/results.jsonl"; else echo "$name: exit $rc"; tail -5 "$OUT/$name.log"; fi
}
run dynamic_b128 ${T1:-100} --batch-size 128 --pages 256
TORCH_LOGS=recompiles run static_b64 ${T2:-180} --static-cache --batch-size 64 --pages 128
