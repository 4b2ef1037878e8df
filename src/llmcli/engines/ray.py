"""The Ray engine: the same tasks, scheduled over a Ray cluster with Ray Data.

The driver (this process) lists the input files and reads stdin itself. Ray Data reads
each file on the cluster, cuts it into items with llmcli's own readers
(:func:`llmcli.inputs.iter_items`), and hands batches of items to a pool of actors. Each
actor loads the model once and runs the task as the local engine does
(:func:`llmcli.runner.run_windows`), so there is one implementation of every task and two
ways to schedule it. Outcomes come back in input order and the driver renders and writes
them, so ``--json``, ``-o FILE`` and ``--keep-going`` behave as they do locally.

Files are read by path on the workers: on a cluster they must sit on storage every node
sees, at the same path (workers start in the driver's working directory when it exists
there).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import pickle
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmcli.engines.base import Started, Work
from llmcli.environment import Environment
from llmcli.errors import (
    LlmcliError,
    ModelUnavailableError,
    OutputError,
    UsageError,
    first_line,
)
from llmcli.inputs import Item, ReadOptions, Source
from llmcli.output.journal import Checkpoint, InputHash
from llmcli.runner import Outcome

INSTALL_HINT = "pip install 'llmcli[ray]'"

#: Environment variables the workers get from the driver: where models are cached and
#: how they are found (``LLMCLI_HOME``, ``HF_HOME``, ``HF_HUB_OFFLINE``...).
FORWARDED_PREFIXES = ("LLMCLI_", "HF_", "HUGGINGFACE_", "TRANSFORMERS_")

#: Fault injection for tests: a path; the first worker batch that manages to create this
#: file kills its worker process, so Ray must restart the actor and retry the batch.
CRASH_ONCE_VARIABLE = "LLMCLI_RAY_CRASH_ONCE"

#: How often Ray restarts a dead actor, and retries a batch whose actor died. Bounded, so
#: an item that kills its worker every time (out of memory) ends the job instead of
#: looping forever.
RESTARTS = 3

#: Most read tasks: files are spread over at most this many blocks of the file list.
MAX_READ_BLOCKS = 1024


@dataclass(frozen=True)
class RayOptions:
    """``--ray-address``, ``--workers`` and ``--threads`` (per worker)."""

    address: str | None = None
    workers: int | None = None
    threads: int | None = None


@dataclass(frozen=True)
class WorkerSpec:
    """What an actor needs to load the model and build the task; sent once per actor."""

    work: Work  # its model choice holds the worker's planned threads
    cwd: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """How many actors, and the CPUs (threads) and GPUs each one reserves."""

    workers: int
    threads: int
    gpus: float


def require() -> Any:
    """The ``ray`` module with Ray Data, or exit 3 with the install command."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ModelUnavailableError(
            "--engine ray needs Ray Data, which is not installed", hint=INSTALL_HINT
        ) from exc
    return ray


def check_options(engine: str, options: RayOptions, resume: bool) -> None:
    """Refuse bad engine options before anything slow starts."""
    if engine not in ("local", "ray"):
        raise UsageError(f"invalid engine {engine!r}", hint="one of local, ray")
    if engine == "local":
        given = [
            name
            for name, value in (("--ray-address", options.address), ("--workers", options.workers))
            if value is not None
        ]
        if given:
            raise UsageError(f"{' and '.join(given)} need --engine ray")
        return
    if resume:
        raise UsageError(
            "--resume works with the local engine only",
            hint="with --engine ray, split the input and run the parts that did not finish",
        )
    require()


def forwarded(variables: dict[str, str]) -> dict[str, str]:
    """The driver's variables that decide how workers find and cache models."""
    return {k: v for k, v in variables.items() if k.startswith(FORWARDED_PREFIXES)}


def connect(address: str | None) -> bool:
    """Join the cluster at ``address`` (``None``: ``$RAY_ADDRESS``, else start a local Ray).

    Returns whether this call started the connection (and so should end it). A process
    that is already connected (tests, notebooks) keeps its connection.
    """
    ray = require()
    _quiet()
    if ray.is_initialized():
        return False
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f" at {address}" if address else ""
        raise LlmcliError(
            f"cannot start or reach the Ray cluster{where}: {first_line(exc)}",
            hint="check --ray-address (host:port of the head node, or 'auto')",
        ) from None
    _quiet()
    return True


@contextlib.contextmanager
def cluster(env: Environment, options: RayOptions, device: str) -> Iterator[Plan]:
    """Joined to (or running) a Ray cluster, Ray's printing contained, the workers planned.

    A local Ray started here is stopped on the way out.
    """
    with ray_output_contained(env):
        started = connect(options.address)
        try:
            yield plan(options, device)
        finally:
            if started:
                disconnect()


class RayEngine:
    """Runs the task on a pool of Ray actors; the driver reads stdin and lists the files."""

    def __init__(self, options: RayOptions) -> None:
        self.options = options

    @contextlib.contextmanager
    def start(
        self,
        work: Work,
        sources: Sequence[Source],
        env: Environment,
        notice: Callable[[str], None] | None,
    ) -> Iterator[Started]:
        """Join the cluster and plan the workers; each worker loads the model itself."""
        from llmcli.models.registry import resolve

        choice = work.choice
        resolve(choice.model, work.task_name, env.variables, choice.languages)  # fail fast
        if work.items is not None:  # ask without context: nothing to spread out
            raise UsageError("--engine ray needs input files or stdin", hint="use the local engine")
        with cluster(env, self.options, choice.device) as workers:
            spec = WorkerSpec(
                work=dataclasses.replace(
                    work, choice=dataclasses.replace(choice, threads=workers.threads)
                ),
                cwd=os.getcwd(),
                variables=forwarded(env.variables),
            )

            def windows(
                start: Checkpoint, hasher: InputHash, step: Callable[[int], None]
            ) -> Iterator[list[Outcome]]:
                return run(spec, work.reading, sources, env, workers, step)

            yield Started(windows, {}, {"engine": "ray"})


@contextlib.contextmanager
def ray_output_contained(env: Environment) -> Iterator[None]:
    """Keep Ray's own printing off llmcli's stdout and stderr while a job runs.

    Ray's driver prints cluster messages ("a worker died...") with ``print`` to
    ``sys.stdout``, which would corrupt results piped to another program, and its C++
    core logs to file descriptor 2. Meanwhile ``sys.stdout`` is /dev/null and so is
    descriptor 2; llmcli keeps writing to the real streams through ``env``. With
    ``--debug`` only stdout is protected.
    """
    real_stdout = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull
        try:
            if env.debug:
                yield
            else:
                with _fd2_hidden(env):
                    yield
        finally:
            sys.stdout = real_stdout


@contextlib.contextmanager
def _fd2_hidden(env: Environment) -> Iterator[None]:
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = -1
    if fd != 2:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    original = env.stderr
    ours = None
    if original is sys.stderr:
        encoding = getattr(original, "encoding", None) or "utf-8"
        ours = open(  # noqa: SIM115 -- closed below, after the run
            os.dup(saved), "w", buffering=1, encoding=encoding, errors="backslashreplace"
        )
        env.stderr = ours
    try:
        yield
    finally:
        if ours is not None:
            ours.flush()
            env.stderr = original
            ours.close()
        os.dup2(saved, 2)
        os.close(saved)


def disconnect() -> None:
    """End the connection :func:`connect` started."""
    require().shutdown()


def _quiet() -> None:
    # Ray's own progress bars, banners and warnings would land on our stderr, which
    # carries llmcli's messages alone.
    for name in ("ray", "ray.data", "ray.data._internal"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "ray.data" in sys.modules:
        from ray.data import DataContext

        ctx = DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        ctx.execution_options.preserve_order = True
        ctx.execution_options.verbose_progress = False


def plan(options: RayOptions, device: str) -> Plan:
    """Workers and threads per worker from the options and the cluster's resources.

    By default one worker per node, each using its node's CPUs (threads across cores
    beat processes on CPU inference); refuse a plan the cluster cannot place, which Ray
    would otherwise wait for forever.
    """
    ray = require()

    cpus = int(ray.cluster_resources().get("CPU", 0))
    gpus = float(ray.cluster_resources().get("GPU", 0))
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    node_cpus = max((int(n.get("Resources", {}).get("CPU", 0)) for n in nodes), default=cpus)
    workers = options.workers or max(1, len(nodes))
    per_node = max(1, -(-workers // max(1, len(nodes))))  # workers on the fullest node
    threads = options.threads or max(1, node_cpus // per_node)
    if workers * threads > cpus or threads > node_cpus:
        raise UsageError(
            f"{workers} worker(s) x {threads} thread(s) need {workers * threads} CPUs "
            f"({threads} on one node); the Ray cluster has {cpus} (at most {node_cpus} "
            "on a node)",
            hint="lower --workers or --threads",
        )
    wants_gpu = device.startswith("cuda")
    if wants_gpu and gpus < workers:
        raise UsageError(
            f"--device {device} with {workers} worker(s) needs {workers} GPUs; "
            f"the Ray cluster has {gpus:g}"
        )
    return Plan(workers=workers, threads=threads, gpus=1.0 if wants_gpu else 0.0)


def run(
    spec: WorkerSpec,
    read: ReadOptions,
    sources: Sequence[Source],
    env: Environment,
    workers: Plan,
    step: Callable[[int], None] | None = None,
) -> Iterator[list[Outcome]]:
    """The outcomes of every item, in input order, a batch at a time.

    ``Item.index`` counts across all sources, as with the local engine. An error that
    ends the job on a worker is raised here as the same llmcli error it would be locally.
    """
    ray = require()
    _quiet()
    units = list(_units(sources, read, env, spec.work.window))
    # Several files per block when there are very many: a block is a task to schedule.
    blocks = max(1, min(len(units), MAX_READ_BLOCKS))
    dataset: Any = ray.data.from_items(units, override_num_blocks=blocks)
    dataset = dataset.flat_map(
        _read_unit,
        fn_args=(read,),
        # Reading is light: at no CPU cost it never waits behind the actors holding all
        # CPUs, which would deadlock a small cluster.
        num_cpus=0,
    )
    stage = {
        "fn_constructor_args": (spec,),
        "batch_size": spec.work.window,
        "batch_format": "numpy",
        "compute": ray.data.ActorPoolStrategy(size=workers.workers),
        "num_cpus": workers.threads,
        "num_gpus": workers.gpus,
    }
    with warnings.catch_warnings():
        # Ray Data (2.60) takes bounded restarts only as deprecated extra arguments; its
        # default is to restart forever. A Ray that refuses them keeps its default.
        warnings.simplefilter("ignore")
        try:
            dataset = dataset.map_batches(
                _Worker, **stage, max_restarts=RESTARTS, max_task_retries=RESTARTS
            )
        except TypeError:
            dataset = dataset.map_batches(_Worker, **stage)
    index = 0
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            window: list[Outcome] = []
            for blob in batch["outcome"]:
                outcome: Outcome | _Raised = pickle.loads(blob)
                if isinstance(outcome, _Raised):
                    raise outcome.error()
                outcome.item.index = index  # workers count per file; the run counts all
                index += 1
                window.append(outcome)
            if step is not None:
                step(sum(1 for o in window if not o.item.blank and o.item.failure is None))
            yield window
    except LlmcliError:
        raise
    except Exception as exc:
        raise _job_failed(exc) from None


def _units(
    sources: Sequence[Source], read: ReadOptions, env: Environment, window: int
) -> Iterator[dict[str, Any]]:
    """One row per file to read on the cluster; stdin is read here, in windows of items."""
    for source in sources:
        if not source.is_stdin:
            yield {"path": source.name, "items": b""}
            continue
        chunk: list[Item] = []
        for item in read.items([source], env):
            chunk.append(item)
            if len(chunk) >= window:
                yield {"path": source.name, "items": pickle.dumps(chunk)}
                chunk = []
        if chunk:
            yield {"path": source.name, "items": pickle.dumps(chunk)}


def _read_unit(row: dict[str, Any], read: ReadOptions) -> Iterator[dict[str, Any]]:
    """Worker side: the items of one file (or of one stdin window read by the driver).

    A generator, so Ray Data can cut a big file's items into blocks as they are read
    instead of holding the whole file's items at once.
    """
    if row["items"]:
        items: Iterable[Item] = pickle.loads(row["items"])
    else:
        empty = Environment(stdin=io.BytesIO(), stdout=io.StringIO(), stderr=io.StringIO())
        items = read.items([Source(str(row["path"]))], empty)
    try:
        for item in items:
            yield {"item": pickle.dumps(item)}
    except Exception as exc:
        # Unreadable input without --keep-going: the job ends, with the local message.
        # It travels as a row, so the items read before it are still run first.
        yield {"item": pickle.dumps(_Raised.of(exc))}


@dataclass(frozen=True)
class _Raised:
    """An error that ends the job, raised on a worker, carried back as data.

    Ray would hand the driver a wrapper whose cause is lost on the way; this keeps the
    llmcli error's type, message and hint, so the exit code and the line on stderr are
    what the local engine gives.
    """

    module: str
    name: str
    message: str
    hint: str | None

    @classmethod
    def of(cls, exc: BaseException) -> _Raised:
        if isinstance(exc, LlmcliError):
            return cls(type(exc).__module__, type(exc).__name__, exc.message, exc.hint)
        return cls(type(exc).__module__, type(exc).__name__, first_line(exc), None)

    def error(self) -> LlmcliError:
        """The error to raise on the driver."""
        import importlib

        if self.module.startswith("llmcli."):
            kind = getattr(importlib.import_module(self.module), self.name, None)
            if isinstance(kind, type) and issubclass(kind, LlmcliError):
                return kind(self.message, hint=self.hint)
        return LlmcliError(
            f"unexpected {self.name} on a Ray worker: {self.message}",
            hint="its traceback is in the worker's log under Ray's session logs",
        )


class _Worker:
    """A Ray actor: loads the model once, then runs the task on batches of items."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.failed: _Raised | None = None
        try:
            self._load(spec)
        except Exception as exc:
            # Raising here would kill the actor and have Ray restart it in a loop; the
            # first batch reports it instead.
            traceback.print_exc()
            self.failed = _Raised.of(exc)

    def _load(self, spec: WorkerSpec) -> None:
        from llmcli.runner import load_task

        if os.path.isdir(spec.cwd):
            os.chdir(spec.cwd)  # relative file and model paths mean what they did locally
        os.environ.update(spec.variables)
        work = spec.work
        self.task, run = load_task(work.task_name, work.settings, work.choice, env=dict(os.environ))
        self.run = {**run, "engine": "ray"}

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[bytes]]:
        _crash_once_for_tests()
        if self.failed is not None:
            return {"outcome": [pickle.dumps(self.failed)]}
        items = [pickle.loads(blob) for blob in batch["item"]]
        raised = next((i for i, it in enumerate(items) if isinstance(it, _Raised)), None)
        if raised is None:
            return {"outcome": self._run(items)}
        # A file that could not be read: run what came before it, then end the job. (Not
        # through self(...): Ray Data runs __call__ on one thread, and would deadlock.)
        return {"outcome": [*self._run(items[:raised]), pickle.dumps(items[raised])]}

    def _run(self, items: list[Item]) -> list[bytes]:
        from llmcli.errors import isolatable
        from llmcli.runner import run_windows

        out: list[bytes] = []
        try:
            for window in run_windows(
                self.task,
                items,
                self.spec.work.make_input,
                window_items=max(1, len(items)),
                keep_going=self.spec.work.keep_going,
            ):
                for outcome in window:
                    outcome.run = self.run
                    out.append(pickle.dumps(outcome))
        except Exception as exc:
            if not isolatable(exc) and not isinstance(exc, OutputError):
                raise  # out of memory: let the worker die, and Ray retry it
            traceback.print_exc()
            return [*out, pickle.dumps(_Raised.of(exc))]
        return out


def _crash_once_for_tests() -> None:
    marker = os.environ.get(CRASH_ONCE_VARIABLE)
    if not marker:
        return
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os._exit(1)


def _job_failed(exc: Exception) -> LlmcliError:
    """A failure of Ray itself (not of llmcli's code, whose errors come back as
    :class:`_Raised`): a worker that died more often than it may be restarted, a lost node.
    """
    return LlmcliError(f"the Ray job failed: {first_line(exc)}", hint="rerun with --debug")
