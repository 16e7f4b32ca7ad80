#!/usr/bin/env python3
"""Train a small network on sklearn's bundled digits data set (no network access), logged with xtrk.

    xtrk run -e digits -p lr=0.05 --seed 0 --model model.pt -- python3 torch_digits.py --lr 0.05

Logs the loss of every epoch as a step series and the final test accuracy,
and saves the weights to model.pt.  The seed fixes every random choice, so
a run repeated with the same parameters gives the same weights.
"""
import argparse
import os
import sys

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import xtrk  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="model.pt")
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.use_deterministic_algorithms(True)
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.25, random_state=a.seed)
    x_train, x_test = (torch.tensor(v, dtype=torch.float32) for v in (x_train, x_test))
    y_train, y_test = (torch.tensor(v, dtype=torch.long) for v in (y_train, y_test))

    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    run = xtrk.start(params={"lr": a.lr, "epochs": a.epochs, "seed": a.seed, "hidden": 32})
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(x_train))
        total = 0.0
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        run.log_metric("loss", round(total / len(x_train), 6), step=epoch)
        print(f"epoch {epoch:2d} loss {total / len(x_train):.4f}")
    model.eval()
    with torch.no_grad():
        acc = (model(x_test).argmax(1) == y_test).float().mean().item()
    run.log_metric("accuracy", round(acc, 6))
    torch.save(model.state_dict(), a.out)
    run.log_model(a.out)
    run.commit()
    print(f"test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
