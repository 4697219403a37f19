"""SLURM adapter: slurmrestd (JWT) or the `--json` output of squeue/sinfo/sacct run locally or
over SSH; pyslurm only where it imports and matches the cluster's version."""
