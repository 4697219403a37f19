"""MLflow adapter: runs, metrics and the model registry. The client blocks: worker threads only."""
