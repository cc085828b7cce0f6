#!/usr/bin/env bash
# The VLM reader's GPU check, as one prepared run on a lent H100/H200 (see bench/bench_vlm.py).
# That machine has CUDA torch and no registry: docproc's other dependencies travel as cp312 wheels
# in .whl/ (git-ignored through .git/info/exclude), installed into /tmp/site. Writes one JSON line
# per configuration to $OUT/results.jsonl and each run's log beside it. The wheels, fetched here:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl transformers==5.23.0 xgrammar==0.2.9 apache-tvm-ffi \
#     regex pydantic pydantic-core annotated-types typing-inspection typing_extensions dateparser tzlocal \
#     pytz price-parser Faker RapidFuzz jsonschema jsonschema-specifications referencing rpds-py pypdfium2
# (versions as in this project's .venv: `.venv/bin/pip freeze`; 31 MB in all on 2026-11-27).
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
# Baseline first (the configuration measured on 2026-11-27: README "Performance"), then the changes
# that followed it. The runs' limits add up to 7.8 minutes (T1..T3 override them), plus set-up.
run dynamic_b64 ${T1:-120} --batch-size 64 --pages 128
run dynamic_b128 ${T2:-150} --batch-size 128 --pages 256
TORCH_LOGS=recompiles run static_b64 ${T3:-200} --static-cache --batch-size 64 --pages 192
