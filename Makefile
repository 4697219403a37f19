.PHONY: setup run test bench
setup:
	bash scripts/setup.sh
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
bench:
	.venv/bin/python -m benchmarks.startup
	.venv/bin/python -m benchmarks.mlflow_runs
