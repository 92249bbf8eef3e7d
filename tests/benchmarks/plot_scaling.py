#!/usr/bin/env python3
"""Draw how recall and training cost grow with N, D and batch size, from benchmark JSON files.

Reads the --benchmark_format=json output of hopfield_benchmark (BM_RecallScaling) and
vae_benchmark (BM_Train*Batch and the batch-32 cases), and writes into the output folder, for
each figure NAME, NAME.dat (the numbers), NAME.gp (the gnuplot script) and NAME.png:

- recall_vs_patterns: milliseconds per recall step against N (D 784, 256 cues);
- recall_vs_dim: milliseconds per recall step against D (N 10,000, 64 cues);
- recall_vs_cues: milliseconds per cue and step against the number of cues (N 10,000, D 784);
- train_vs_batch: training images per second against batch size, for both VAEs.

Usage: plot_scaling.py --genmem hopfield.json vae.json --output FOLDER
gnuplot must be on the PATH; without it the .dat and .gp files are still written.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genmem", nargs="+", required=True, metavar="FILE")
    parser.add_argument("--output", required=True, metavar="FOLDER")
    return parser.parse_args(argv)


def read_entries(paths):
    """Return every successful iteration entry of the Google Benchmark JSON files."""
    entries = []
    for path in paths:
        try:
            with open(path) as file:
                document = json.load(file)
        except (OSError, json.JSONDecodeError) as error:
            raise SystemExit(f"plot_scaling: cannot read {path}: {error}")
        for entry in document.get("benchmarks", []):
            if entry.get("run_type", "iteration") == "iteration" and not entry.get(
                "error_occurred"
            ):
                entries.append(entry)
    return entries


def arguments_of(name):
    """Map "BM_RecallScaling/N:1000/D:784/cues:256/steps:1/real_time" to its named arguments."""
    values = {}
    for part in name.split("/")[1:]:
        if ":" in part:
            key, value = part.split(":", 1)
            values[key] = int(value)
    return values


def milliseconds(entry):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[entry.get("time_unit", "ns")]
    return entry["real_time"] * scale


def recall_series(entries):
    """Return {"N": [(N, ms)], "D": [(D, ms)], "cues": [(cues, ms per cue)]}."""
    series = {"N": [], "D": [], "cues": []}
    for entry in entries:
        if not entry["name"].startswith("BM_RecallScaling/"):
            continue
        values = arguments_of(entry["name"])
        time = milliseconds(entry)
        if values["D"] == 784 and values["cues"] == 256:
            series["N"].append((values["N"], time))
        if values["N"] == 10_000 and values["cues"] == 64:
            series["D"].append((values["D"], time))
        if values["N"] == 10_000 and values["D"] == 784:
            series["cues"].append((values["cues"], time / values["cues"]))
    return {key: sorted(set(points)) for key, points in series.items()}


def training_series(entries):
    """Return {architecture: [(batch, images per second)]}."""
    prefixes = {
        "BM_TrainMnistSmall": "mnist_small",
        "BM_TrainShapes3dLarge": "shapes3d_large",
    }
    series = {name: [] for name in prefixes.values()}
    for entry in entries:
        function = entry["name"].split("/", 1)[0]
        architecture = prefixes.get(function.removesuffix("Batch"))
        if architecture is None or "images_per_second" not in entry:
            continue
        batch = arguments_of(entry["name"]).get("batch", 32)
        series[architecture].append((batch, entry["images_per_second"]))
    return {key: sorted(points) for key, points in series.items() if points}


def write_plot(folder, name, title, x_label, y_label, columns, log_y=True):
    """Write NAME.dat with one block per series, NAME.gp, and render NAME.png with gnuplot."""
    with open(os.path.join(folder, name + ".dat"), "w") as data:
        for label, points in columns:
            data.write(f"# {label}\n")
            for x, y in points:
                data.write(f"{x} {y:.6g}\n")
            data.write("\n\n")
    plots = ", ".join(
        f"'{name}.dat' index {index} with linespoints linewidth 2 pointtype 7 title '{label}'"
        for index, (label, _) in enumerate(columns)
    )
    script = "\n".join(
        [
            "set terminal pngcairo size 640,420 background 'white' noenhanced font 'sans,10'",
            f"set output '{name}.png'",
            f"set title '{title}'",
            f"set xlabel '{x_label}'",
            f"set ylabel '{y_label}'",
            "set logscale x",
            "set logscale y" if log_y else "set yrange [0:*]",
            "set grid",
            "set key outside below",
            f"plot {plots}",
            "",
        ]
    )
    with open(os.path.join(folder, name + ".gp"), "w") as file:
        file.write(script)
    if shutil.which("gnuplot") is None:
        print(f"plot_scaling: gnuplot not found; wrote {name}.dat and {name}.gp only")
        return
    subprocess.run(["gnuplot", f"./{name}.gp"], cwd=folder, check=True)


def main(argv):
    arguments = parse_arguments(argv)
    entries = read_entries(arguments.genmem)
    os.makedirs(arguments.output, exist_ok=True)
    recall = recall_series(entries)
    training = training_series(entries)
    if not any(recall.values()) and not training:
        raise SystemExit(
            "plot_scaling: no BM_RecallScaling or training results in the input; run "
            "hopfield_benchmark and vae_benchmark first"
        )

    figures = [
        ("N", "recall_vs_patterns", "One recall step, D 784, 256 cues", "stored patterns N",
         "milliseconds"),
        ("D", "recall_vs_dim", "One recall step, N 10,000, 64 cues", "pattern size D",
         "milliseconds"),
        ("cues", "recall_vs_cues", "One recall step, N 10,000, D 784", "cues per recall",
         "milliseconds per cue"),
    ]
    for key, name, title, x_label, y_label in figures:
        if recall[key]:
            write_plot(arguments.output, name, title, x_label, y_label, [("genmem", recall[key])])
    if training:
        write_plot(
            arguments.output,
            "train_vs_batch",
            "VAE training, one epoch of uniform-noise images",
            "batch size",
            "images per second",
            sorted(training.items()),
            log_y=False,
        )
    print(f"plot_scaling: figures are in {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
