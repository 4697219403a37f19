"""SSH transport shared by the adapters (SLURM CLI over SSH, BeeGFS, guest GPU telemetry)."""
