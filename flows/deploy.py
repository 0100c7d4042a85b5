"""Serve headforge's deployments against a Prefect server.

Deployments: ``regenerate`` (cron), ``retention`` (cron), ``forget`` (triggered with parameters)
and ``pipeline`` (manual). ``python -m flows.deploy`` (or ``headforge serve``) starts a local
server on loopback unless ``PREFECT_API_URL`` points at one, then serves until interrupted.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from prefect import serve

from flows.server import local_server
from headforge.context import Context


def build_deployments(with_schedules: bool = True) -> list[Any]:
    """The deployments this project serves (flows that are not present yet are left out)."""
    from flows.pipeline import pipeline

    deployments = [pipeline.to_deployment(name="pipeline", description="dvc repro, stage by stage")]
    params = Context.load().params
    regen, ret = params.regenerate, params.retention
    optional = [
        ("flows.regenerate", "regenerate", regen.schedule),
        ("flows.retention", "retention", ret.schedule),
        ("flows.forget", "forget", None),
    ]
    for module, name, cron in optional:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name == module:
                continue
            raise
        fl = getattr(mod, name)
        kwargs: dict[str, Any] = {"name": name}
        if cron and with_schedules:
            kwargs["cron"] = cron
        deployments.append(fl.to_deployment(**kwargs))
    return deployments


def main(argv: list[str]) -> int:
    with_schedules = "--no-schedules" not in argv
    with local_server() as url:
        print(f"serving headforge deployments against {url}", flush=True)
        serve(*build_deployments(with_schedules), print_starting_message=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
