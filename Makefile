.PHONY: setup run test bench
setup:
	bash scripts/setup.sh
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
bench:
	PYTHONPATH=$(CURDIR) .venv/bin/python -m benchmarks.bench
