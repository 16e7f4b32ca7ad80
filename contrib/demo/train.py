#!/usr/bin/env python3
"""A tiny, dependency-free trainer for the xtrk tour: linear regression by gradient descent.

It really trains: it reads points from a CSV file, fits y = w*x + b with a fixed
seed, and writes the model and its metrics as JSON, so two runs with different
learning rates give different, reproducible results.
"""
import argparse
import json
import random


def make_data(path, n=200, seed=1):
    import os
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("x,y\n")
        for _ in range(n):
            x = rng.uniform(-1, 1)
            f.write(f"{x:.6f},{3.0 * x + 0.5 + rng.gauss(0, 0.1):.6f}\n")


def load_params(path):
    params = {}
    with open(path) as f:
        for line in f:
            if ":" in line and not line.lstrip().startswith("#"):
                k, v = line.split(":", 1)
                params[k.strip()] = float(v) if "." in v else int(v)
    return params


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-data")
    ap.add_argument("--params")
    ap.add_argument("--data")
    ap.add_argument("--out")
    ap.add_argument("--metrics")
    a = ap.parse_args()
    if a.make_data:
        make_data(a.make_data)
        return
    p = load_params(a.params)
    rng = random.Random(p.get("seed", 0))
    with open(a.data) as f:
        rows = [tuple(map(float, line.split(","))) for line in list(f)[1:]]
    w, b = rng.uniform(-0.1, 0.1), 0.0
    for _ in range(int(p["epochs"])):
        gw = sum((w * x + b - y) * x for x, y in rows) * 2 / len(rows)
        gb = sum((w * x + b - y) for x, y in rows) * 2 / len(rows)
        w -= p["lr"] * gw
        b -= p["lr"] * gb
    loss = sum((w * x + b - y) ** 2 for x, y in rows) / len(rows)
    mean = sum(y for _, y in rows) / len(rows)
    var = sum((y - mean) ** 2 for _, y in rows) / len(rows)
    with open(a.out, "w") as f:
        json.dump({"w": w, "b": b}, f)
    with open(a.metrics, "w") as f:
        json.dump({"loss": round(loss, 6), "r2": round(1 - loss / var, 6)}, f)
    print(f"trained: w={w:.4f} b={b:.4f} loss={loss:.5f}")


if __name__ == "__main__":
    main()
