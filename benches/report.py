#!/usr/bin/env python3
"""Table and chart of the last `cargo bench -p neuron-bench` run.

Reads criterion's medians from target/criterion/<case>/<variant>/new/estimates.json,
prints a Markdown table of medians with the ratio of each variant to `generated`
(`neuron_x1024` times are per batch of 1024 neurons),
and writes a chart of those ratios (log scale) to docs/benchmarks.png.
Needs matplotlib only for the chart: pip install matplotlib.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRIT = ROOT / "target" / "criterion"
CASES = ["neuron", "neuron_x1024", "dense_64", "network_loss", "rnn_tanh_32", "rosenbrock_1000"]
VARIANTS = ["forward", "hand", "hand_ieee", "generated", "generated_skip", "num_dual", "echidna", "finite_diff"]


def median_ns(case, variant):
    f = CRIT / case / variant / "new" / "estimates.json"
    if not f.exists():
        return None
    return json.loads(f.read_text())["median"]["point_estimate"]


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main():
    data = {c: {v: median_ns(c, v) for v in VARIANTS} for c in CASES}
    print("| case | " + " | ".join(VARIANTS) + " |")
    print("|---" * (len(VARIANTS) + 1) + "|")
    for c in CASES:
        g = data[c]["generated"]
        cells = []
        for v in VARIANTS:
            t = data[c][v]
            if t is None:
                cells.append("n/a")
            elif g is None:
                cells.append(fmt(t))
            else:
                cells.append(f"{fmt(t)} ({t / g:.2f}×)")
        print(f"| `{c}` | " + " | ".join(cells) + " |")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no chart", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.8 / (len(VARIANTS) - 1)
    shown = [v for v in VARIANTS if v != "generated"]
    nan = float("nan")
    for k, v in enumerate(shown):
        ratios = [(data[c][v] or nan) / (data[c]["generated"] or nan) for c in CASES]
        xs = [i + (k - len(shown) / 2 + 0.5) * width for i in range(len(CASES))]
        ax.bar(xs, ratios, width, label=v)
    ax.axhline(1.0, color="black", linewidth=1)
    ax.set_yscale("log")
    ax.set_xticks(range(len(CASES)), CASES)
    ax.set_ylabel("time / time of generated (log scale)")
    ax.set_title("neuron benchmarks: each variant's median relative to the generated backward pass")
    ax.legend()
    fig.tight_layout()
    out = ROOT / "docs" / "benchmarks.png"
    fig.savefig(out, dpi=100)
    print(f"chart: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
