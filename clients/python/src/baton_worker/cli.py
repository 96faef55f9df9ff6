"""``baton-worker``: run workflow types from Python modules.

    baton-worker --url http://127.0.0.1:8080 myapp.workflows:Summarize myapp.workflows:publish
    BATON_URL=... BATON_TOKEN=... baton-worker --concurrency 8 --declare myapp/workflows.py

A target is ``module:attr`` or ``path/to/file.py:attr``, where ``attr`` is a
:class:`~baton_worker.Workflow` subclass or instance (e.g. an ``@workflow``
function) or a list of them; without ``:attr`` every workflow defined in the
module is taken. The current directory is importable, as with ``python -m``.

The token comes from ``--token``, ``--token-file`` or ``BATON_TOKEN`` (prefer
the environment or a file: a command line is visible to other users in
``ps``). It is never logged. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import inspect
import json
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

from . import __version__
from .errors import AuthError, BadInputError, BatonError
from .worker import Worker
from .workflow import FunctionWorkflow, Workflow, declaration_order


def load_target(target: str) -> list[Workflow]:
    """The workflows a ``module:attr`` / ``file.py[:attr]`` target names."""
    module_part, _, attr = target.partition(":")
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        module = _load_file(Path(module_part))
    else:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(module_part)
    if attr:
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
        found = _as_workflows(obj)
        if not found:
            raise SystemExit(f"baton-worker: {target} is not a Workflow (or a list of them)")
        return found
    found = []
    for value in vars(module).values():
        if isinstance(value, Workflow) or (
            isinstance(value, type)
            and issubclass(value, Workflow)
            and value not in (Workflow, FunctionWorkflow)
            and value.__module__ == module.__name__
            and value.name
        ):
            found.extend(_as_workflows(value))
    if not found:
        raise SystemExit(f"baton-worker: no workflows in {module_part}")
    return found


def _load_file(path: Path) -> ModuleType:
    if not path.exists():
        raise SystemExit(f"baton-worker: {path} does not exist")
    name = "baton_target_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"baton-worker: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.resolve().parent))
    spec.loader.exec_module(module)
    return module


def _as_workflows(obj: Any) -> list[Workflow]:
    if isinstance(obj, Workflow):
        return [obj]
    if inspect.isclass(obj) and issubclass(obj, Workflow):
        return [obj()]
    if isinstance(obj, (list, tuple)):
        out: list[Workflow] = []
        for o in obj:
            out.extend(_as_workflows(o))
        return out
    return []


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="baton-worker",
        description="Run Baton workflow types written in Python (claim, heartbeat, complete/fail).",
    )
    p.add_argument("targets", nargs="+", metavar="module:attr",
                   help="workflows to run: module:attr, file.py:attr, or a module/file for all of its workflows")
    p.add_argument("--url", default=os.environ.get("BATON_URL"),
                   help="Baton's base URL (env BATON_URL), e.g. http://127.0.0.1:8080")
    p.add_argument("--token", default=None,
                   help="API token (env BATON_TOKEN; prefer it or --token-file over this flag)")
    p.add_argument("--token-file", default=os.environ.get("BATON_TOKEN_FILE"),
                   help="file holding the token (env BATON_TOKEN_FILE)")
    p.add_argument("--concurrency", type=int,
                   default=int(os.environ.get("BATON_WORKER_CONCURRENCY", "4")),
                   help="workflows run at once (env BATON_WORKER_CONCURRENCY; default 4)")
    p.add_argument("--lease-seconds", type=int,
                   default=int(os.environ.get("BATON_WORKER_LEASE_SECONDS", "60")),
                   help="lease per claim, renewed every third of it (5..3600; default 60)")
    p.add_argument("--wait-seconds", type=int, default=20,
                   help="long-poll wait of each claim (0..30; default 20)")
    p.add_argument("--grace-seconds", type=float, default=30.0,
                   help="on SIGTERM/SIGINT, how long running workflows may finish (default 30)")
    p.add_argument("--declare", action="store_true",
                   default=os.environ.get("BATON_WORKER_DECLARE", "") in ("1", "true", "yes"),
                   help="declare the types at start (needs an admin token)")
    p.add_argument("--declare-only", action="store_true",
                   help="declare the types (needs an admin token) and exit without running them")
    p.add_argument("--print-types", action="store_true",
                   help="print the declarations for `baton serve --types FILE.yaml` (JSON is YAML) and exit")
    p.add_argument("--log-level", default=os.environ.get("BATON_WORKER_LOG", "info"),
                   help="debug, info, warning, error (env BATON_WORKER_LOG)")
    p.add_argument("--version", action="version", version=f"baton-worker {__version__}")
    return p


async def _declare_only(worker: Worker) -> list[dict[str, Any]]:
    try:
        return await worker.declare_types()
    finally:
        if worker.client is not None:
            await worker.client.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request at INFO; keep that for --log-level debug.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)

    workflows: list[Workflow] = []
    for target in args.targets:
        workflows.extend(load_target(target))

    if args.print_types:
        # Baton reads the file in order: a type's next steps must come first.
        ordered = declaration_order(workflows)
        json.dump([w.yaml_declaration() for w in ordered], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0

    token = args.token or os.environ.get("BATON_TOKEN")
    if not token and args.token_file:
        token = Path(args.token_file).read_text().strip()
    if not args.url:
        print("baton-worker: give --url or set BATON_URL", file=sys.stderr)
        return 2
    if not token:
        print("baton-worker: give a token (BATON_TOKEN, --token-file or --token)", file=sys.stderr)
        return 2

    worker = Worker(
        workflows,
        url=args.url,
        token=token,
        concurrency=args.concurrency,
        lease_seconds=args.lease_seconds,
        wait_seconds=args.wait_seconds,
        declare=args.declare,
        shutdown_grace=args.grace_seconds,
    )
    if args.declare_only:
        try:
            for t in asyncio.run(_declare_only(worker)):
                print(f"declared {t['name']} v{t['version']}", file=sys.stderr)
        except (AuthError, BadInputError) as e:
            logging.getLogger("baton_worker").error("%s (%s)", e, e.code)
            return 1
        return 0
    try:
        worker.run_forever()
    except (AuthError, BadInputError) as e:
        logging.getLogger("baton_worker").error("%s (%s)", e, e.code)
        return 1
    except BatonError as e:
        logging.getLogger("baton_worker").error("%s", e)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
