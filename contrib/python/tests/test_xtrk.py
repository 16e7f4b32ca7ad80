"""Tests for the Python binding, against the real xtrk program (XTRK names it)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import xtrk  # noqa: E402

XTRK = os.environ.get("XTRK", "xtrk")


def sh(*args, cwd=None, env=None):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


class BindingTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="xtrk-pytest-")
        self.dir = self.tmp.name
        sh(XTRK, "init", "-q", self.dir)
        sh("git", "config", "-f", os.path.join(self.dir, ".xtrk/config"), "capture.python", "false")
        self.old = os.getcwd()
        os.chdir(self.dir)
        os.environ.pop("XTRK_RUN_DIR", None)

    def tearDown(self):
        os.chdir(self.old)
        self.tmp.cleanup()

    def show(self, run_id):
        return json.loads(sh(XTRK, "show", "--json", run_id))

    def test_outside_xtrk_run_commit_calls_the_program(self):
        with open("w.bin", "wb") as f:
            f.write(b"weights")
        os.makedirs("data")
        with open("data/x.csv", "w") as f:
            f.write("1,2\n")
        run = xtrk.start(experiment="py", params={"lr": 0.01, "opt": {"name": "sgd"}}, seed=3)
        for step, loss in enumerate([1.0, 0.5, 0.25]):
            run.log_metric("loss", loss, step=step)
        run.log_metric("acc", 0.9)
        run.log_dataset("data", name="train", source="unit-test")
        run.log_model("w.bin")
        run_id = run.commit(message="from python")
        r = self.show(run_id)
        self.assertEqual(r["experiment"], "py")
        self.assertEqual(r["message"], "from python")
        self.assertEqual(r["params"], {"lr": 0.01, "opt": {"name": "sgd"}})
        self.assertEqual(r["metrics"], {"acc": 0.9, "loss": 0.25})
        self.assertIsNotNone(r["series"])
        self.assertEqual(r["seed"], 3)
        self.assertEqual(r["datasets"][0]["name"], "train")
        self.assertEqual(r["datasets"][0]["source"], "unit-test")
        self.assertEqual(r["models"][0]["path"], "w.bin")
        self.assertEqual(r["status"], "succeeded")

    def test_with_block_commits_and_marks_failures(self):
        with xtrk.start(experiment="ok") as run:
            run.log_param("a", 1)
        self.assertEqual(self.show(run.id)["status"], "succeeded")
        with self.assertRaises(ZeroDivisionError):
            with xtrk.start(experiment="bad") as failing:
                1 / 0
        self.assertEqual(self.show(failing.id)["status"], "failed")

    def test_a_param_logged_twice_is_refused(self):
        run = xtrk.start(params={"lr": 1})
        with self.assertRaises(ValueError):
            run.log_param("lr", 2)

    def test_refusals_become_exceptions(self):
        run = xtrk.start()
        run.log_dataset("no-such-folder")
        with self.assertRaises(xtrk.XtrkError) as ctx:
            run.commit()
        self.assertIn("no-such-folder", str(ctx.exception))

    def test_a_bad_experiment_name_fails_at_start(self):
        with self.assertRaises(xtrk.XtrkError) as ctx:
            xtrk.start(experiment="../bad name")
        self.assertIn("not a valid experiment name", str(ctx.exception))

    def test_no_program_fails_at_start(self):
        for prog in (os.path.join(self.dir, "no-such-xtrk"), "no-such-xtrk-on-path"):
            os.environ["XTRK"] = prog
            try:
                with self.assertRaises(xtrk.XtrkError) as ctx:
                    xtrk.start(experiment="early")
            finally:
                os.environ["XTRK"] = XTRK
            self.assertIn(prog, str(ctx.exception))
            self.assertIn("XTRK", str(ctx.exception))
        with open("not-runnable", "w") as f:
            f.write("#!/bin/sh\n")
        os.environ["XTRK"] = os.path.abspath("not-runnable")
        try:
            with self.assertRaises(xtrk.XtrkError):
                xtrk.start()
        finally:
            os.environ["XTRK"] = XTRK

    def test_no_store_fails_at_start(self):
        with tempfile.TemporaryDirectory(prefix="xtrk-nostore-") as elsewhere:
            os.chdir(elsewhere)
            with self.assertRaises(xtrk.XtrkError) as ctx:
                xtrk.start(experiment="early")
        self.assertIn("xtrk init", str(ctx.exception))

    def test_a_failed_with_block_records_the_exception(self):
        with self.assertRaises(ZeroDivisionError):
            with xtrk.start(experiment="bad") as failing:
                1 / 0
        r = self.show(failing.id)
        self.assertEqual(r["status"], "failed")
        self.assertEqual(r["error"], "ZeroDivisionError: division by zero")

    def write_script(self, name, body):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("import sys\n"
                    f"sys.path.insert(0, {os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')!r})\n"
                    "import xtrk\n" + body)
        return path

    def test_outside_xtrk_run_the_command_line_is_recorded(self):
        script = self.write_script("cmd.py",
                                   "run = xtrk.start(experiment='cmd')\n"
                                   "print(run.commit())\n")
        os.makedirs("sub/dir")
        done = subprocess.run([sys.executable, script, "--lr", "0.1", "a b"], cwd="sub/dir",
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        r = self.show(done.stdout.strip())
        self.assertEqual(r["command"], {"argv": [sys.executable, script, "--lr", "0.1", "a b"],
                                        "cwd": "sub/dir"})
        self.assertIsNone(r["exit_code"])

    def test_the_interpreter_running_the_script_is_recorded(self):
        # A second interpreter with its own packages (a venv holding one made-up
        # distribution), and the script run by each while the other is python3 on PATH.
        sh("git", "config", "-f", ".xtrk/config", "capture.python", "true")
        venv = os.path.join(self.dir, "venv")
        try:
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True,
                           capture_output=True)
        except (subprocess.CalledProcessError, OSError):
            self.skipTest("cannot create a venv here")
        vpy = os.path.join(venv, "bin", "python3")
        site = subprocess.run([vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        dist = os.path.join(site, "xtrkfake-1.2.3.dist-info")
        os.makedirs(dist)
        with open(os.path.join(dist, "METADATA"), "w") as f:
            f.write("Metadata-Version: 2.1\nName: xtrkfake\nVersion: 1.2.3\n")
        script = self.write_script("which.py",
                                   "import json, platform\n"
                                   "from importlib import metadata\n"
                                   "pk = {}\n"
                                   "for d in metadata.distributions():\n"
                                   "    pk.setdefault(d.metadata['Name'], d.version)\n"
                                   "run = xtrk.start(experiment='which')\n"
                                   "print(json.dumps({'id': run.commit(), 'executable': sys.executable,\n"
                                   "                  'version': platform.python_version(), 'packages': pk}))\n")
        plain = os.environ["PATH"]
        fake_path = os.path.join(self.dir, "shadow")
        os.makedirs(fake_path)
        os.symlink(sys.executable, os.path.join(fake_path, "python3"))
        for python, path, has_fake in ((vpy, plain, True),
                                       (sys.executable, os.path.join(venv, "bin") + os.pathsep + plain, False),
                                       (vpy, fake_path + os.pathsep + plain, True)):
            done = subprocess.run([python, script], capture_output=True, text=True,
                                  env=dict(os.environ, PATH=path))
            self.assertEqual(done.returncode, 0, done.stderr)
            me = json.loads(done.stdout)
            recorded = self.show(me["id"])["env"]["python"]
            self.assertEqual(recorded["executable"], me["executable"])
            self.assertEqual(recorded["version"], me["version"])
            self.assertEqual(recorded["packages"], me["packages"])
            self.assertEqual("xtrkfake" in recorded["packages"], has_fake)

    def test_inside_xtrk_run_everything_goes_to_the_run_dir(self):
        script = os.path.join(self.dir, "train.py")
        with open(script, "w") as f:
            f.write(
                "import sys\n"
                f"sys.path.insert(0, {os.path.join(os.path.dirname(__file__), '..')!r})\n"
                "import xtrk\n"
                "with xtrk.start(params={'lr': 0.5}) as run:\n"
                "    for i in range(4):\n"
                "        run.log_metric('loss', 1.0 / (i + 1), step=i)\n"
                "    open('m.bin', 'w').write('model')\n"
                "    run.log_model('m.bin')\n"
                "print('trained')\n")
        done = subprocess.run([XTRK, "run", "-e", "inside", "--", sys.executable, script],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("trained", done.stdout)
        r = json.loads(sh(XTRK, "log", "-e", "inside", "--json"))[0]
        self.assertEqual(r["params"], {"lr": 0.5})
        self.assertEqual(r["metrics"]["loss"], 0.25)
        self.assertEqual(r["models"][0]["path"], "m.bin")
        series = sh(XTRK, "cat-object", r["series"]).splitlines()
        self.assertEqual(len(series), 4)

    def test_inside_xtrk_run_the_binding_names_the_run_unless_options_do(self):
        script = self.write_script("named.py",
                                   "with xtrk.start(experiment='from-code', message='from code', seed=7):\n"
                                   "    pass\n")
        done = subprocess.run([XTRK, "run", "--", sys.executable, script], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        r = json.loads(sh(XTRK, "show", "--json", "from-code"))
        self.assertEqual((r["message"], r["seed"]), ("from code", 7))
        done = subprocess.run([XTRK, "run", "-e", "from-cli", "-m", "cli", "--seed", "1", "--",
                               sys.executable, script], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        r = json.loads(sh(XTRK, "show", "--json", "from-cli"))
        self.assertEqual((r["message"], r["seed"]), ("cli", 1))
        self.assertEqual(len(json.loads(sh(XTRK, "log", "-e", "from-code", "--json"))), 1)

    def test_inside_xtrk_run_a_failed_with_block_records_the_exception(self):
        script = self.write_script("fails.py",
                                   "try:\n"
                                   "    with xtrk.start(experiment='inside-bad'):\n"
                                   "        raise ValueError('boom')\n"
                                   "except ValueError:\n"
                                   "    pass\n")
        done = subprocess.run([XTRK, "run", "--", sys.executable, script], capture_output=True, text=True)
        r = json.loads(sh(XTRK, "show", "--json", "inside-bad"))
        self.assertEqual(r["status"], "failed")
        self.assertEqual(r["error"], "ValueError: boom")
        self.assertEqual(r["exit_code"], 0)
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_inside_xtrk_run_start_needs_no_program(self):
        script = self.write_script("noprog.py", "xtrk.start(experiment='noprog').commit()\n")
        done = subprocess.run([XTRK, "run", "--", sys.executable, script], capture_output=True, text=True,
                              env=dict(os.environ, XTRK=os.path.join(self.dir, "no-such-xtrk")))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(len(json.loads(sh(XTRK, "log", "-e", "noprog", "--json"))), 1)


if __name__ == "__main__":
    unittest.main()
