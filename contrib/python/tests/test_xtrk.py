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
        run = xtrk.start(experiment="../bad name")
        with self.assertRaises(xtrk.XtrkError) as ctx:
            run.commit()
        self.assertIn("not a valid experiment name", str(ctx.exception))

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


if __name__ == "__main__":
    unittest.main()
