"""The end of a job's output, as a failed plan step's error shows it (cockpit.slurm_logs)."""

from __future__ import annotations


async def test_output_tail_says_why_there_is_no_output(tmp_path):
    from backends.slurm.source import SlurmSource
    from cockpit.slurm_logs import output_tail

    from cockpit.query import Query

    class Runtime:
        query = Query(lambda name: SlurmSource(transport=None))  # type: ignore[arg-type]  (only the file is read)

    missing = tmp_path / "gone.out"
    assert (await output_tail(Runtime(), {"job_id": 1, "stdout": str(missing)})).startswith(
        f"its output file {missing} could not be read: ")
    assert await output_tail(Runtime(), {"job_id": 1, "stdout": None}) == "the job's output file is not known"
    missing.write_text("")
    assert await output_tail(Runtime(), {"job_id": 1, "stdout": str(missing)}) == f"its output file {missing} is empty"
    missing.write_text("x" * 5000 + "\n")
    text = await output_tail(Runtime(), {"job_id": 1, "stdout": str(missing)}, max_chars=100)
    assert text == f"last lines of {missing}:\n..." + "x" * 100
