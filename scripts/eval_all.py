"""Run `docproc extract` + `docproc eval` over every dev set in ../shared/eval and print the
README's accuracy table (markdown): soft and exact micro-F1 and the confidence split per dataset.

    .venv/bin/python scripts/eval_all.py                       # all six sets, results under /tmp/docproc-eval
    .venv/bin/python scripts/eval_all.py --sets sroie_receipts --out /tmp/e

Settings are fixed (the defaults of `docproc extract` plus the schema below), so two runs print the
same numbers. Full-dataset runs live here, not in the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
BIN = Path(sys.executable).parent

# dataset folder -> schema given to `docproc extract` (adbuy is a user-defined schema file).
SETS = {
    "sroie_receipts": "receipt",
    "deepform_adbuy": str(REPO / "examples" / "schemas" / "adbuy.yaml"),
    "parsee_invoices": "invoice",
    "kleister_nda": "nda",
    "funsd_forms": "key_values",
    "cms1500_claims": "cms1500",
}


def run_set(name: str, schema: str, out_root: Path) -> dict:
    dataset, out = EVAL / name, out_root / name
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # Exit code 1 only says some document failed; the error records are scored as misses.
    subprocess.run([str(BIN / "docproc"), "extract", str(dataset / "docs"), "--schema", schema,
                    "-o", str(out), "-q"], check=False)
    seconds = time.monotonic() - started
    metrics = out_root / f"{name}.metrics.json"
    eval_schema = ["--schema", schema] if schema.endswith((".yaml", ".yml")) else []
    subprocess.run([str(BIN / "docproc"), "eval", str(dataset), str(out), *eval_schema,
                    "--json", str(metrics), "--failures", str(out_root / f"{name}.failures.jsonl")],
                   check=True, stdout=subprocess.DEVNULL)
    report = json.loads(metrics.read_text())
    report["seconds"] = round(seconds, 1)
    return report


def _f(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated dataset folders")
    parser.add_argument("--out", type=Path, default=Path("/tmp/docproc-eval"))
    args = parser.parse_args()
    if not EVAL.is_dir():
        print(f"{EVAL} not present: the dev sets live in ../shared/eval only", file=sys.stderr)
        return 2
    rows = []
    for name in args.sets.split(","):
        report = run_set(name, SETS[name], args.out)
        micro, conf = report["micro"], report["confidence"]
        rows.append(
            f"| {name} | {report['documents']} | {_f(micro['soft']['f1'])} | {_f(micro['exact']['f1'])} "
            f"| {_f(conf['high_confidence_precision'])} ({conf['high_confidence_count']}) "
            f"| {_f(conf['low_confidence_precision'])} ({conf['low_confidence_count']}) "
            f"| {report['error_results']} | {report['seconds']} |")
        print(rows[-1], flush=True)
    print("\n| dataset | docs | soft micro-F1 | exact micro-F1 | precision conf ≥ 0.9 (n) "
          "| precision conf < 0.9 (n) | error records | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
