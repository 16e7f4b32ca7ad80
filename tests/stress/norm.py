"""A run's JSON without what differs between two recordings of the same run (times, resources,
memory, the test's own variables), for comparing a run recorded under faults with a clean one."""
import json
import sys

r = json.load(sys.stdin)
for k in ("id", "started", "ended", "duration_s", "resources"):
    r.pop(k, None)
env = r.get("env") or {}
env.pop("memory_bytes", None)
env.pop("vars", None)
print(json.dumps(r, sort_keys=True, indent=1))
