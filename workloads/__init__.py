"""MLOps validation workloads: the programs the cockpit submits to SLURM and Kubernetes.

Each program is a module runnable as `python -m workloads.<name> --help`, logs params, metrics
and (where it trains one) the model to MLflow, tags the run so the cockpit can link it
(`workloads.common.tags`), and writes a metrics.json beside its other outputs.
"""

PROGRAMS = ("train_classifier", "train_ddp", "finetune_lm", "serve_check", "oumi_config")
