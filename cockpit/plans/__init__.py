"""Headless plans: `cockpit --run plan.yaml`.

model (pydantic, JSON Schema) -> loader (YAML, ${VAR}, DAG checks) -> engine (scheduler, retries,
timeouts, cleanup, durable state) -> reports (JSON lines, JUnit XML, Markdown, live progress).
"""

from cockpit.plans.engine import PlanRunner, dry_run_lines, load_for_resume
from cockpit.plans.loader import LoadedPlan, load_plan, parse_plan
from cockpit.plans.model import Plan, Step, plan_json_schema

EXIT_BY_VERDICT = {"passed": 0, "failed": 1, "interrupted": 3}

__all__ = ["Plan", "Step", "LoadedPlan", "PlanRunner", "load_plan", "parse_plan", "plan_json_schema",
           "dry_run_lines", "load_for_resume", "EXIT_BY_VERDICT"]
