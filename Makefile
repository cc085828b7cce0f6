# The two commands of the README: `make demo` (main job) and `make test` (the test suite).
.PHONY: setup demo test bench eval-all clean

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/python -m docproc.samples make samples/generated
	.venv/bin/docproc extract samples/generated --schema invoice -o demo-out --table

test: setup
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python bench/bench.py

clean:
	rm -rf demo-out .pytest_cache
