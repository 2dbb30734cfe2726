"""Cold import of the redirect handler module against ``import boto3; boto3.client("dynamodb")``.

By default, both sides without .pyc: what Lambda ran before the layer shipped bytecode (the redirect
was budgeted at 1.1x this way; the redirect fits 128 MB). The layer is now compiled
(layers/common/Makefile), so the budgets of docs/architecture.md §8 apply to ``--lambda`` (below).

Each run is a fresh interpreter: ``python -B`` (writes no bytecode) with PYTHONPYCACHEPREFIX pointing
at a new empty directory (so no cached bytecode anywhere is read: the venv's and stdlib's
``__pycache__`` directories are ignored; Python's frozen core modules are unaffected, as on Lambda).
The child gets the environment template.yaml gives the redirect plus fake credentials, and times
the import in-process with ``time.perf_counter`` (interpreter start-up is excluded; the parent
also reports each process's wall time). Baseline and redirect runs alternate.

Then: ``-X importtime`` of the redirect module (median of a few runs): the top modules by cumulative
time, and the modules the redirect imports that the baseline does not (what the budget pays for).
Then peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) after the import, a first click and a
second click through ``app.lambda_handler`` with the module's real boto3 client answered in memory
at botocore's ``before-send`` hook (so the SDK's first-request work and memory are included).

With ``--lambda``: every function of template.yaml, against an environment made like Lambda's
(bench/lambda_layer.py): the layer built by layers/common/Makefile (the recipe ``sam build`` runs;
host-platform wheels, since the arm64 native ones cannot load here) with its unchecked-hash
bytecode, boto3/botocore alone in a directory, compiled, as the runtime's, and nothing else on the
path (``python -I -S -B``: no venv, no dev packages). Floor: ``import boto3; boto3.client("dynamodb")``
in the same environment. Per function: median import time of N fresh interpreters (floor and
functions interleaved), the ratio to the floor, peak RSS after the import (``ru_maxrss``), the time
the garbage collector spent during the import and its full collections, and for each function over
its budget (redirect <= 1.1x, every other handler <= 1.5x) what dominates its ``-X importtime``
beyond the floor's modules: each of app's direct imports by the self time of what it brought in that
the floor does not import (its cumulative time would also count boto3 when it came first).
``--instructions`` adds each import's instruction count under valgrind against the floor's: the
same every run, where times on a shared machine move by a tenth of the floor.

Usage: python bench/cold_import.py [--runs 15] [--importtime-runs 3] [--top 25] [--json]
       python bench/cold_import.py --lambda [--runs 11] [--importtime-runs 3] [--env-dir DIR] [--instructions]
                                   [--only FunctionA,FunctionB] [--depth N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import _stubs  # noqa: E402
import lambda_layer  # noqa: E402

BUDGET_RATIO = 1.1  # docs/architecture.md §8
MEMORY_BUDGET_MB = 128

BASELINE_CODE = """
import time, resource, json
t0 = time.perf_counter(); c0 = time.process_time()
import boto3
tb = time.perf_counter()
boto3.client("dynamodb")
t1 = time.perf_counter(); c1 = time.process_time()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "import_cpu_ms": (c1 - c0) * 1e3,
                  "import_boto3_ms": (tb - t0) * 1e3, "client_ms": (t1 - tb) * 1e3,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

REDIRECT_CODE = """
import sys, time, resource, json
sys.path[:0] = [{redirect_dir!r}, {layer!r}]
t0 = time.perf_counter(); c0 = time.process_time()
import app
t1 = time.perf_counter(); c1 = time.process_time()
out = {{"import_ms": (t1 - t0) * 1e3, "import_cpu_ms": (c1 - c0) * 1e3,
        "rss_after_import_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}
if {clicks}:
    sys.path.insert(0, {bench!r})
    import random, _stubs
    store = _stubs.install_wire_stub(_stubs.redirect_client(), _stubs.config_items())
    context = _stubs.LambdaContext()
    template = _stubs.base_event()
    rng = random.Random(7)
    for name, kind in (("first_click", "ig_ios"), ("second_click", "ig_android")):
        event = _stubs.make_event(rng, kind, "demo", template)
        t = time.perf_counter(); c = time.process_time()
        response = app.lambda_handler(event, context)
        out[name + "_ms"] = (time.perf_counter() - t) * 1e3
        out[name + "_cpu_ms"] = (time.process_time() - c) * 1e3
        out[name + "_status"] = response["statusCode"]
    out["rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["dynamodb_calls"] = dict(store.calls)
print(json.dumps(out))
"""


def child_env(pycache_prefix: str, function_env: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: no bytecode cache, fake credentials, the function's variables."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPYCACHEPREFIX": pycache_prefix,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    env.update(_stubs.REDIRECT_ENV if function_env is None else function_env)
    return env


def run_child(
    code: str, extra_args: tuple[str, ...] = (), function_env: dict[str, str] | None = None
) -> tuple[dict[str, Any], str, float]:
    """Run ``code`` in a fresh interpreter with no bytecode; (its JSON line, its stderr, wall ms)."""
    with tempfile.TemporaryDirectory(prefix="funil-pycache-") as prefix:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-B", *extra_args, "-c", code],
            env=child_env(prefix, function_env),
            cwd=str(BENCH.parent),
            capture_output=True,
            text=True,
            check=False,
        )
        wall_ms = (time.perf_counter() - started) * 1e3
        leftovers = sum(len(files) for _, _, files in os.walk(prefix))
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    if leftovers:
        raise RuntimeError(f"{leftovers} bytecode files were written under the pycache prefix")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), done.stderr, wall_ms


def redirect_code(clicks: bool) -> str:
    return REDIRECT_CODE.format(
        redirect_dir=str(_stubs.REDIRECT_DIR), layer=str(_stubs.LAYER), bench=str(BENCH), clicks=clicks
    )


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def stats(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p90": _quantile(values, 0.9),
        "min": min(values),
        "max": max(values),
    }


_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def parse_importtime(stderr: str) -> dict[str, tuple[int, int, int]]:
    """module -> (self µs, cumulative µs, depth) from ``-X importtime`` output."""
    modules: dict[str, tuple[int, int, int]] = {}
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            modules[name] = (int(self_us), int(cumulative_us), (len(indent) - 1) // 2)
    return modules


def importtime_profile(code: str, runs: int, function_env: dict[str, str] | None = None) -> dict[str, dict[str, float]]:
    samples: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for _ in range(runs):
        _, stderr, _ = run_child(code, ("-X", "importtime"), function_env)
        for name, values in parse_importtime(stderr).items():
            samples[name].append(values)
    return {
        name: {
            "self_ms": statistics.median(v[0] for v in values) / 1e3,
            "cumulative_ms": statistics.median(v[1] for v in values) / 1e3,
            "depth": values[0][2],
        }
        for name, values in samples.items()
    }


def pyc_reads(code: str, function_env: dict[str, str] | None = None) -> int:
    """How many modules a verbose child loaded from cached bytecode (must be 0)."""
    _, stderr, _ = run_child(code, ("-v",), function_env)
    return sum(1 for line in stderr.splitlines() if line.startswith("# code object from") and ".pyc" in line)


def top_level(name: str) -> str:
    return name.split(".", 1)[0]


def measure(runs: int, importtime_runs: int, top: int) -> dict[str, Any]:
    base_code, redir_code, redir_clicks = BASELINE_CODE, redirect_code(False), redirect_code(True)
    checks = {"pyc_reads_baseline": pyc_reads(base_code), "pyc_reads_redirect": pyc_reads(redir_code)}
    baseline: list[dict[str, Any]] = []
    redirect: list[dict[str, Any]] = []
    for index in range(runs):
        order = ((baseline, base_code), (redirect, redir_code))
        for bucket, code in order if index % 2 == 0 else reversed(order):
            result, _, wall_ms = run_child(code)
            result["process_wall_ms"] = wall_ms
            bucket.append(result)
    memory = [run_child(redir_clicks)[0] for _ in range(3)]

    base_prof = importtime_profile(base_code, importtime_runs)
    redir_prof = importtime_profile(redir_code, importtime_runs)
    top_cumulative = sorted(redir_prof.items(), key=lambda item: -item[1]["cumulative_ms"])[:top]
    extra = {name: prof for name, prof in redir_prof.items() if name not in base_prof}
    # By self time: a redirect-only module's cumulative time can include modules the baseline
    # imports too (funil.adapters.dynamo pulls in boto3 itself).
    extra_roots = sorted(
        ((name, prof) for name, prof in extra.items() if top_level(name) != "app"),
        key=lambda item: -item[1]["self_ms"],
    )
    by_package: dict[str, float] = defaultdict(float)
    for name, prof in extra.items():
        by_package[top_level(name)] += prof["self_ms"]

    base_ms = [r["import_ms"] for r in baseline]
    redir_ms = [r["import_ms"] for r in redirect]
    base_cpu = [r["import_cpu_ms"] for r in baseline]
    redir_cpu = [r["import_cpu_ms"] for r in redirect]
    return {
        "checks": checks,
        "runs": runs,
        "baseline": {
            "import_ms": stats(base_ms),
            "import_cpu_ms": stats(base_cpu),
            "process_wall_ms": stats([r["process_wall_ms"] for r in baseline]),
            "import_boto3_ms": statistics.median(r["import_boto3_ms"] for r in baseline),
            "client_ms": statistics.median(r["client_ms"] for r in baseline),
            "rss_mb": statistics.median(r["rss_kb"] for r in baseline) / 1024,
        },
        "redirect": {
            "import_ms": stats(redir_ms),
            "import_cpu_ms": stats(redir_cpu),
            "process_wall_ms": stats([r["process_wall_ms"] for r in redirect]),
        },
        "ratio": {
            "median": statistics.median(redir_ms) / statistics.median(base_ms),
            "p90": _quantile(redir_ms, 0.9) / _quantile(base_ms, 0.9),
            "cpu_median": statistics.median(redir_cpu) / statistics.median(base_cpu),
        },
        "memory": {
            "rss_after_import_mb": statistics.median(m["rss_after_import_kb"] for m in memory) / 1024,
            "rss_after_two_clicks_mb": statistics.median(m["rss_kb"] for m in memory) / 1024,
            "first_click_ms": statistics.median(m["first_click_ms"] for m in memory),
            "first_click_cpu_ms": statistics.median(m["first_click_cpu_ms"] for m in memory),
            "second_click_ms": statistics.median(m["second_click_ms"] for m in memory),
            "statuses": [m["first_click_status"] for m in memory] + [m["second_click_status"] for m in memory],
            "dynamodb_calls": memory[0]["dynamodb_calls"],
        },
        "importtime": {
            "runs": importtime_runs,
            "redirect_top_cumulative": [{"module": name, **prof} for name, prof in top_cumulative],
            "redirect_only_modules": [{"module": name, **prof} for name, prof in extra_roots[:top]],
            "redirect_only_self_ms_by_package": dict(sorted(by_package.items(), key=lambda item: -item[1])),
            "redirect_only_self_ms_total": sum(by_package.values()),
            "app_module_self_ms": redir_prof.get("app", {}).get("self_ms"),
        },
    }


def render(result: dict[str, Any], meta: dict[str, Any]) -> str:
    b, r, ratio, mem = result["baseline"], result["redirect"], result["ratio"], result["memory"]
    verdict = "ok" if ratio["median"] <= BUDGET_RATIO else "OVER"
    mem_verdict = "ok" if mem["rss_after_two_clicks_mb"] <= MEMORY_BUDGET_MB else "OVER"
    lines = [
        f"cold import without .pyc, {result['runs']} alternating fresh interpreters each "
        f"(python {meta['python']}, {meta['machine']}, {meta['cpus']} CPUs, {meta['date']})",
        f"bytecode read from cache: baseline {result['checks']['pyc_reads_baseline']}, "
        f"redirect {result['checks']['pyc_reads_redirect']} (python -v; must be 0)",
        "",
        f"{'':<50}{'median ms':>10}{'p90 ms':>10}{'min':>8}{'max':>8}",
    ]
    for label, row in (
        ('baseline: import boto3; boto3.client("dynamodb")', b["import_ms"]),
        ("redirect: import app (functions/redirect)", r["import_ms"]),
        ("baseline CPU (process_time)", b["import_cpu_ms"]),
        ("redirect CPU (process_time)", r["import_cpu_ms"]),
        ("baseline process wall (incl. interpreter)", b["process_wall_ms"]),
        ("redirect process wall (incl. interpreter)", r["process_wall_ms"]),
    ):
        lines.append(f"{label:<50}{row['median']:>10.0f}{row['p90']:>10.0f}{row['min']:>8.0f}{row['max']:>8.0f}")
    lines += [
        f"  baseline split (medians): import boto3 {b['import_boto3_ms']:.0f} ms, "
        f'boto3.client("dynamodb") {b["client_ms"]:.0f} ms',
        "",
        f"ratio redirect/baseline: median {ratio['median']:.2f}, p90 {ratio['p90']:.2f}, "
        f"CPU median {ratio['cpu_median']:.2f}; budget <= {BUDGET_RATIO} -> {verdict}",
        "",
        f"peak RSS: baseline {b['rss_mb']:.1f} MB; redirect after import {mem['rss_after_import_mb']:.1f} MB, "
        f"after two clicks {mem['rss_after_two_clicks_mb']:.1f} MB; budget {MEMORY_BUDGET_MB} MB -> {mem_verdict}",
        f"first click after import (real botocore, socket stubbed): {mem['first_click_ms']:.1f} ms wall "
        f"({mem['first_click_cpu_ms']:.1f} ms CPU); second click {mem['second_click_ms']:.1f} ms; "
        f"statuses {mem['statuses']}; DynamoDB calls {mem['dynamodb_calls']}",
        "",
        f"-X importtime of the redirect (median of {result['importtime']['runs']} runs), top by cumulative:",
        f"  {'cumulative ms':>13} {'self ms':>8}  module",
    ]
    for row in result["importtime"]["redirect_top_cumulative"]:
        lines.append(f"  {row['cumulative_ms']:>13.1f} {row['self_ms']:>8.1f}  {'  ' * row['depth']}{row['module']}")
    lines += ["", "modules the redirect imports and the baseline does not, by self time:"]
    for row in result["importtime"]["redirect_only_modules"]:
        lines.append(f"  {row['cumulative_ms']:>13.1f} {row['self_ms']:>8.1f}  {row['module']}")
    by_package = ", ".join(
        f"{name} {ms:.1f}" for name, ms in result["importtime"]["redirect_only_self_ms_by_package"].items() if ms >= 0.5
    )
    lines += [
        f"  self time of those by package (ms): {by_package}",
        f"  total {result['importtime']['redirect_only_self_ms_total']:.1f} ms; app's own module body "
        f"(settings, collaborators; the table's client comes with the first click) "
        f"{result['importtime']['app_module_self_ms']:.1f} ms",
    ]
    return "\n".join(lines)


LAMBDA_BUDGETS = {"RedirectFunction": 1.1}  # docs/architecture.md §8
LAMBDA_DEFAULT_BUDGET = 1.5

# The child also times the garbage collector's passes during the import (gc.callbacks): a handler
# allocates more than the floor, so it crosses more of the collector's thresholds, and the first
# full collection (which walks every object, boto3's included) lands in the handler's time.
TIMED_IMPORT = """
import time, resource, json, gc
collector = {{"ms": 0.0, "full": 0, "started": 0.0}}
def on_gc(phase, info):
    if phase == "start":
        collector["started"] = time.perf_counter()
    else:
        collector["ms"] += (time.perf_counter() - collector["started"]) * 1e3
        collector["full"] += info["generation"] == 2
gc.callbacks.append(on_gc)
t0 = time.perf_counter(); c0 = time.process_time()
{body}
t1 = time.perf_counter(); c1 = time.process_time()
gc.callbacks.remove(on_gc)
print(json.dumps({{"import_ms": (t1 - t0) * 1e3, "import_cpu_ms": (c1 - c0) * 1e3,
                  "gc_ms": collector["ms"], "gc_full": collector["full"],
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""
FLOOR = "floor"
FLOOR_BODY = 'import boto3\nboto3.client("dynamodb")'


def lambda_environment(env_dir: Path) -> tuple[Path, Path]:
    """The host-platform layer (Makefile recipe) and the runtime's SDK, built once into ``env_dir``.

    A kept ``env_dir`` gets ``funil`` rebuilt from the working tree (the Makefile's copy and
    compileall) every run: the pinned dependencies do not change between runs, our code does.
    """
    layer, sdk = env_dir / "layer" / "python", env_dir / "sdk"
    if not (layer / "funil").is_dir():
        lambda_layer.build_layer(env_dir / "layer", host=True)
    else:
        shutil.rmtree(layer / "funil")
        shutil.copytree(lambda_layer.LAYER_SRC / "funil", layer / "funil", ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(layer / "funil")],
            check=True,
        )
    if not (sdk / "boto3").is_dir():
        lambda_layer.install_sdk(sdk)
    return layer, sdk


def _lambda_child(
    paths: list[Path], body: str, env: dict[str, str], extra: tuple[str, ...] = ()
) -> tuple[dict[str, Any], str]:
    done = subprocess.run(
        lambda_layer.child_argv(paths, TIMED_IMPORT.format(body=body), *extra),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]), done.stderr


def beyond_floor(profile: dict[str, dict[str, float]], floor: dict[str, Any]) -> dict[str, float]:
    """module -> self time of the modules it brought in that the floor does not import (itself included).

    ``-X importtime`` lists a module after everything it imported (post-order, ``profile`` keeps that
    order). Its cumulative time counts whatever it happened to import first, boto3 included when it
    came before the SDK; this counts only what the function pays beyond the floor.
    """
    totals: dict[str, float] = {}
    stack: list[tuple[int, float]] = []  # (depth, beyond-floor time of an already listed subtree)
    for module, row in profile.items():
        depth = int(row["depth"])
        own = 0.0 if module in floor else row["self_ms"]
        while stack and stack[-1][0] > depth:
            own += stack.pop()[1]
        totals[module] = own
        stack.append((depth, own))
    return totals


def instructions(paths: list[Path], body: str, env: dict[str, str]) -> int:
    """Instructions a fresh child executes (valgrind's callgrind, ``Ir``): the same count every run.

    Wall and CPU time on a shared machine move by a tenth of the floor between runs; an instruction
    count does not, so it tells what a change to the imports bought. (It weighs every instruction
    alike: cache misses, which time pays for, are not in it.)
    """
    if shutil.which("valgrind") is None:
        raise RuntimeError("--instructions needs valgrind (apt-get install valgrind)")
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *lambda_layer.child_argv(paths, body)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"valgrind child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return int(match.group(1))


def nested(body: str, depth: int) -> str:
    """``body`` run ``depth`` Python calls below the top level.

    CPython 3.11 keeps frames in 16 KiB chunks and unmaps a chunk as soon as the frame stack leaves it:
    an import whose nesting keeps crossing a chunk's end maps and unmaps one each time (kernel work that
    instruction counts do not see), and where the boundaries fall depends on how deep the importer is.
    The runtime imports a handler some calls deep; ``--depth`` shows how much the figures move with it.
    """
    for level in range(depth):
        body = f"def _level{level}():\n" + textwrap.indent(body, "    ") + f"\n_level{level}()"
    return body


def measure_lambda(
    runs: int,
    importtime_runs: int,
    top: int,
    env_dir: Path,
    *,
    count_instructions: bool = False,
    only: frozenset[str] = frozenset(),
    depth: int = 0,
) -> dict[str, Any]:
    layer, sdk = lambda_environment(env_dir)
    _, problems = lambda_layer.bytecode_problems(layer)
    if problems:
        raise RuntimeError("layer without unchecked-hash bytecode:\n" + "\n".join(problems[:10]))
    functions = lambda_layer.functions()
    floor_env = dict(functions[0].env)
    if only:
        functions = [f for f in functions if f.logical_id in only]
    subjects: list[tuple[str, list[Path], str, dict[str, str]]] = [(FLOOR, [sdk], nested(FLOOR_BODY, depth), floor_env)]
    subjects += [
        (f.logical_id, [f.code_dir, layer, sdk], nested(f"import {f.module}", depth), f.env) for f in functions
    ]
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for index in range(runs):
        # Rotate the order so no subject always runs right after the same other one.
        for name, paths, body, env in subjects[index % len(subjects) :] + subjects[: index % len(subjects)]:
            samples[name].append(_lambda_child(paths, body, env)[0])

    def profile(paths: list[Path], body: str, env: dict[str, str]) -> dict[str, dict[str, float]]:
        collected: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for _ in range(importtime_runs):
            _, stderr = _lambda_child(paths, body, env, ("-X", "importtime"))
            for module, values in parse_importtime(stderr).items():
                collected[module].append(values)
        return {
            module: {
                "self_ms": statistics.median(v[0] for v in values) / 1e3,
                "cumulative_ms": statistics.median(v[1] for v in values) / 1e3,
                "depth": values[0][2],
            }
            for module, values in collected.items()
        }

    floor_ms = statistics.median(r["import_ms"] for r in samples[FLOOR])
    floor_profile = profile([sdk], FLOOR_BODY, floor_env)
    executed: dict[str, int] = {}
    if count_instructions:  # beyond a child that imports nothing (interpreter start-up, the path set-up)
        start = instructions([sdk], "pass", floor_env)
        executed = {name: instructions(paths, body, env) - start for name, paths, body, env in subjects}
    rows = []
    for name, paths, body, env in subjects:
        times = [r["import_ms"] for r in samples[name]]
        row: dict[str, Any] = {
            "function": name,
            "import_ms": stats(times),
            "import_cpu_ms": statistics.median(r["import_cpu_ms"] for r in samples[name]),
            "gc_ms": statistics.median(r["gc_ms"] for r in samples[name]),
            "gc_full": statistics.median(r["gc_full"] for r in samples[name]),
            "rss_mb": statistics.median(r["rss_kb"] for r in samples[name]) / 1024,
            "ratio": statistics.median(times) / floor_ms,
        }
        if executed:
            row["instructions"] = executed[name]
            row["instructions_ratio"] = executed[name] / executed[FLOOR]
        if name != FLOOR:
            row["budget"] = LAMBDA_BUDGETS.get(name, LAMBDA_DEFAULT_BUDGET)
            row["ok"] = row["ratio"] <= row["budget"]
            prof = profile(paths, body, env)
            extra = {module: p for module, p in prof.items() if module not in floor_profile}
            by_package: dict[str, float] = defaultdict(float)
            for module, p in extra.items():
                by_package[top_level(module)] += p["self_ms"]
            row["extra_self_ms"] = sum(by_package.values())
            row["extra_by_package"] = dict(sorted(by_package.items(), key=lambda item: -item[1])[:top])
            beyond = beyond_floor(prof, floor_profile)
            row["app_imports"] = sorted(
                (
                    {"module": m, "beyond_floor_ms": beyond[m], **p}
                    for m, p in prof.items()
                    if p["depth"] == 1 and m not in floor_profile
                ),
                key=lambda item: -item["beyond_floor_ms"],
            )[:8]
        rows.append(row)
    return {
        "runs": runs,
        "importtime_runs": importtime_runs,
        "env_dir": str(env_dir),
        "floor_ms": floor_ms,
        "layer_py_files": lambda_layer.bytecode_problems(layer)[0],
        "rows": rows,
    }


def render_lambda(result: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"cold import as Lambda runs it: layer built by layers/common/Makefile (host wheels, "
        f"{result['layer_py_files']} .py, all with unchecked-hash .pyc), boto3/botocore compiled alone, "
        f"python -I -S -B; median of {result['runs']} fresh interpreters each "
        f"(python {meta['python']}, {meta['machine']}, {meta['cpus']} CPUs, {meta['date']})",
        "",
        f"{'function':<26}{'median ms':>10}{'p90 ms':>8}{'CPU ms':>8}{'ratio':>7}{'budget':>8}{'':>6}{'RSS MB':>8}"
        f"{'GC ms':>7}{'full':>5}" + (f"{'instr':>7}" if "instructions" in result["rows"][0] else ""),
    ]
    for row in result["rows"]:
        verdict = "" if row["function"] == FLOOR else ("ok" if row["ok"] else "OVER")
        budget = "" if row["function"] == FLOOR else f"{row['budget']:.1f}x"
        label = 'floor: boto3 + client("dynamodb")' if row["function"] == FLOOR else row["function"]
        lines.append(
            f"{label:<26}{row['import_ms']['median']:>10.0f}{row['import_ms']['p90']:>8.0f}"
            f"{row['import_cpu_ms']:>8.0f}{row['ratio']:>7.2f}{budget:>8}{verdict:>6}{row['rss_mb']:>8.1f}"
            f"{row['gc_ms']:>7.0f}{row['gc_full']:>5.0f}"
            + (f"{row['instructions_ratio']:>7.2f}" if "instructions" in row else "")
        )
    lines += [
        "",
        f"what each function imports beyond the floor (-X importtime, median of {result['importtime_runs']}):",
    ]
    for row in result["rows"]:
        if row["function"] == FLOOR:
            continue
        packages = ", ".join(f"{name} {ms:.0f}" for name, ms in row["extra_by_package"].items() if ms >= 1)
        lines.append(
            f"  {row['function']} ({'ok' if row['ok'] else 'OVER'}): +{row['extra_self_ms']:.0f} ms self time; "
            f"by package (ms): {packages}"
        )
        if not row["ok"]:
            imports = ", ".join(f"{i['module']} {i['beyond_floor_ms']:.0f}" for i in row["app_imports"])
            lines.append(f"    app's imports by what they add beyond the floor (ms): {imports}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per side")
    parser.add_argument("--importtime-runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--lambda", dest="lambda_env", action="store_true", help="every function, as Lambda runs it")
    parser.add_argument("--env-dir", type=Path, help="--lambda: build the layer and SDK here (kept, reused)")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="--lambda: also each import's instructions (valgrind; deterministic; ~30-60 s per function)",
    )
    parser.add_argument(
        "--depth", type=int, default=0, help="--lambda: import each handler this many Python calls deep"
    )
    parser.add_argument(
        "--only",
        default="",
        help="--lambda: these functions only (comma-separated logical ids), e.g. TelegramWebhookFunction",
    )
    args = parser.parse_args(argv)
    meta = {
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "cpus": len(os.sched_getaffinity(0)),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if args.lambda_env:
        with tempfile.TemporaryDirectory(prefix="funil-lambda-env-") as scratch:
            env_dir = args.env_dir or Path(scratch)
            only = frozenset(name for name in args.only.split(",") if name)
            result = measure_lambda(
                args.runs,
                args.importtime_runs,
                args.top,
                env_dir,
                count_instructions=args.instructions,
                only=only,
                depth=args.depth,
            )
        print(json.dumps({"meta": meta, **result}, indent=2) if args.json else render_lambda(result, meta))
        return 0
    result = measure(args.runs, args.importtime_runs, args.top)
    if args.json:
        print(json.dumps({"meta": meta, "budget_ratio": BUDGET_RATIO, **result}, indent=2))
    else:
        print(render(result, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
