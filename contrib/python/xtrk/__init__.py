"""Log runs to xtrk from Python, with no dependency beyond the standard library.

    import xtrk
    with xtrk.start(experiment="mnist", params={"lr": 0.01}) as run:
        for epoch in range(10):
            run.log_metric("loss", loss, step=epoch)
        run.log_dataset("data/train", name="train", source="s3://bucket/mnist")
        run.log_model("model.pt")
    print(run.id)

Inside `xtrk run -- python train.py` everything goes to $XTRK_RUN_DIR and the
run is recorded when the command ends (`run.id` stays None); the experiment,
message and seed given to `start()` are used where `xtrk run` was not given
them.  Outside, the run is recorded by calling the `xtrk` program (`XTRK`
names it; default `xtrk` on PATH) when `commit()` is called or the `with`
block ends, with this interpreter's version and packages and this script's
command line; `start()` checks first that the program runs and finds a store
from the current folder, so that a run that cannot be recorded fails before
training, not after.  A run whose block raised is recorded with status
"failed" and the exception in its `error` field.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

__all__ = ["start", "Run", "XtrkError"]


class XtrkError(RuntimeError):
    """The run cannot be recorded: no xtrk program, no store, or xtrk refused it."""


def _program():
    return os.environ.get("XTRK", "xtrk")


# xtrk's rule for experiment names, checked here where no xtrk program is asked (inside `xtrk run`).
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}\Z")


def _valid_name(name):
    return bool(_NAME.match(name)) and ".." not in name and not (len(name) > 5 and name.endswith(".lock"))


def _describe(exc_type, exc):
    """'ValueError: message', as the last line of a traceback names an exception."""
    name = exc_type.__qualname__
    if exc_type.__module__ not in ("builtins", "__main__"):
        name = f"{exc_type.__module__}.{name}"
    text = str(exc) if exc is not None else ""
    return f"{name}: {text}" if text else name


def _xtrk(args):
    """Run the xtrk program; XtrkError when it cannot be started or fails."""
    prog = _program()
    try:
        done = subprocess.run([prog] + args, capture_output=True, text=True)
    except OSError as e:
        raise XtrkError(f"cannot run the xtrk program {prog!r} ({e.strerror or e}); "
                        "install xtrk or set XTRK to its path") from None
    if done.returncode != 0:
        raise XtrkError(done.stderr.strip() or f"xtrk exited with {done.returncode}")
    return done.stdout


class Run:
    def __init__(self, experiment=None, params=None, message=None, seed=None):
        self.experiment = experiment
        self.message = message
        try:
            self.seed = None if seed is None else int(str(seed))
        except ValueError:
            raise ValueError(f"seed {seed!r} is not a whole number") from None
        self.params = {}
        self.metrics = {}
        self.series = []
        self.data = {"datasets": [], "models": [], "artifacts": []}
        self.id = None
        self.run_dir = os.environ.get("XTRK_RUN_DIR")
        self._committed = False
        self._cwd = os.getcwd()
        argv = list(sys.argv) if sys.argv != [""] else []
        self._argv = [sys.executable or "python3"] + argv
        if self.run_dir:
            if not os.path.isdir(self.run_dir):
                raise XtrkError(f"XTRK_RUN_DIR {self.run_dir!r} is not a folder; run this under "
                                "`xtrk run`, or without XTRK_RUN_DIR set")
            if experiment and not _valid_name(experiment):
                raise XtrkError(f"{experiment!r} is not a valid experiment name (letters, digits, '.', '_' and '-')")
            self._write_run()
        else:
            _xtrk(["commit-run", "--check"] + (["-e", experiment] if experiment else []))
        if params:
            self.log_params(params)

    # -- logging --------------------------------------------------------
    def log_param(self, key, value):
        if key in self.params:
            raise ValueError(f"param {key!r} logged twice")
        self.params[key] = value
        self._flush_params()

    def log_params(self, params):
        for key, value in params.items():
            self.log_param(key, value)

    def log_metric(self, key, value, step=None):
        value = float(value) if not isinstance(value, (int, float)) else value
        if step is None:
            self.metrics[key] = value
            self._write_json("metrics.json", self.metrics)
        else:
            point = {"step": int(step), key: value}
            self.series.append(point)
            if self.run_dir:
                with open(os.path.join(self.run_dir, "metrics.jsonl"), "a") as f:
                    f.write(json.dumps(point) + "\n")

    def log_dataset(self, path, name=None, source=None):
        spec = (f"{name}={path}" if name else str(path)) + (f"@{source}" if source else "")
        self.data["datasets"].append(spec)
        self._write_json("data.json", self.data)

    def log_model(self, path, name=None):
        self.data["models"].append(f"{name}={path}" if name else str(path))
        self._write_json("data.json", self.data)

    def log_artifact(self, path, name=None):
        self.data["artifacts"].append(f"{name}={path}" if name else str(path))
        self._write_json("data.json", self.data)

    # -- recording ------------------------------------------------------
    def commit(self, message=None, failed=False, error=None):
        """Record the run; returns its ID (None inside `xtrk run`, which records it at the end).

        `error` (the reason it failed) implies `failed`.
        """
        if self._committed:
            return self.id
        self._committed = True
        if message:
            self.message = message
        failed = failed or error is not None
        if self.run_dir:
            self._write_run(failed=failed, error=error)
            return None
        args = ["commit-run", "--json", "-q"]
        if self.experiment:
            args += ["-e", self.experiment]
        if self.message:
            args += ["-m", self.message]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        if failed:
            args.append("--failed")
        if error is not None:
            args += ["--error", str(error)]
        if sys.executable and os.access(sys.executable, os.X_OK):
            args += ["--python", sys.executable]
        args += ["--command-json", json.dumps({"argv": self._argv, "cwd": self._cwd})]
        with tempfile.TemporaryDirectory(prefix="xtrk-py-") as tmp:
            for key, value in self.params.items():
                args += ["--param", f"{key}={json.dumps(value)}"]
            for key, value in self.metrics.items():
                args += ["--metric", f"{key}={json.dumps(value)}"]
            if self.series:
                s = os.path.join(tmp, "series.jsonl")
                with open(s, "w") as f:
                    for point in self.series:
                        f.write(json.dumps(point) + "\n")
                args += ["-M", s]
            for spec in self.data["datasets"]:
                args += ["-d", spec]
            for spec in self.data["models"]:
                args += ["--model", spec]
            for spec in self.data["artifacts"]:
                args += ["--artifact", spec]
            out = _xtrk(args)
        self.id = json.loads(out)["id"]
        return self.id

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.commit(error=_describe(exc_type, exc) if exc_type is not None else None)
        return False

    # -- inside `xtrk run` ------------------------------------------------
    def _flush_params(self):
        self._write_json("params.json", self.params)

    def _write_run(self, failed=False, error=None):
        """What `xtrk run` takes from run.json: names where its options gave none, and a failure."""
        run = {"experiment": self.experiment, "message": self.message, "seed": self.seed,
               "failed": failed or None, "error": error}
        self._write_json("run.json", {k: v for k, v in run.items() if v is not None})

    def _write_json(self, name, value):
        if not self.run_dir:
            return
        path = os.path.join(self.run_dir, name)
        with open(path + ".tmp", "w") as f:
            json.dump(value, f)
        os.replace(path + ".tmp", path)


def start(experiment=None, params=None, message=None, seed=None):
    """Begin a run: log to it, then `commit()` it (or use it in a `with` block).

    Raises XtrkError at once when the run could not be recorded: outside
    `xtrk run`, no xtrk program (see XTRK) or no store from the current folder;
    an invalid experiment name.
    """
    return Run(experiment=experiment, params=params, message=message, seed=seed)
