# The two commands of the README: `make demo` (main job) and `make test` (the test suite).
.PHONY: setup setup-all demo test bench eval samples clean

# Debian packages when missing, then the package into .venv (extras: see pyproject.toml).
setup:
	bash scripts/setup.sh

# Everything the test suite exercises: the VLM reader (CPU torch 2.13.0), semantic labels, cluster mode, the API.
setup-all:
	DOCPROC_EXTRAS=dev,vlm,semantic,cluster bash scripts/setup.sh

# The demo: the invoices in samples/docs (born-digital PDFs and their degraded scans), extracted
# in-process, then scored against their own ground truth.
demo: setup
	.venv/bin/docproc extract samples/docs --schema invoice -o demo-out --table
	.venv/bin/docproc eval samples demo-out

# Regenerates samples/ (deterministic content) with the project's own generator.
samples: setup
	.venv/bin/python -m docproc.samples samples --count 3

test: setup-all
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python bench/bench.py

# Full dev-set runs (../shared/eval): extract + eval per dataset, the README's accuracy table.
eval: setup
	.venv/bin/python scripts/eval_all.py

clean:
	rm -rf demo-out .pytest_cache
