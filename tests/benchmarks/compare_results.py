#!/usr/bin/env python3
"""Print one Markdown table comparing genmem's benchmark results with the PyTorch reference's.

Inputs are the JSON files of genmem's Google Benchmark programs (--benchmark_format=json), of
one or more runs of pytorch_reference.py --json and, optionally, of replay_check for each
replay. Each row is one figure with genmem's value, PyTorch's value and the ratio
genmem / PyTorch. Every figure is a rate, so a ratio above 1 means genmem is faster. For each VAE,
one more row gives the training GFLOP/s as a share of the best sgemm rate that the reference
measured in the same run.
"""

import argparse
import json
import math
import re
import sys

# Google Benchmark function name -> name prefix of the matching pytorch_reference.py case.
GENMEM_PREFIXES = {
    "BM_Recall": "recall",
    "BM_MatmulReference": "recall_matmul",
    "BM_TrainMnistSmall": "vae_train/architecture:mnist_small",
    "BM_TrainShapes3dLarge": "vae_train/architecture:shapes3d_large",
}
# Rate compared for each kind of case: (result field, genmem counter, unit).
RATE_FIELDS = {
    "recall": ("cues_per_second", "cues_per_second", "cues/s"),
    "recall_matmul": ("gflop_per_second", "GFLOP_per_second", "GFLOP/s"),
    "vae_train": ("images_per_second", "images_per_second", "images/s"),
    "replay": ("cues_per_second", "cues_per_second", "cues/s"),
    "replay_images": ("cues_per_second", "cues_per_second", "cues/s"),
    "sgemm": ("gflop_per_second", None, "GFLOP/s"),
}


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--genmem",
        nargs="+",
        default=[],
        metavar="FILE",
        help="JSON output of hopfield_benchmark and vae_benchmark",
    )
    parser.add_argument(
        "--reference",
        required=True,
        nargs="+",
        metavar="FILE",
        help="JSON output of pytorch_reference.py; the results of several runs are joined",
    )
    parser.add_argument(
        "--replay", nargs="+", default=[], metavar="FILE", help="JSON output of replay_check"
    )
    return parser.parse_args(argv)


def read_json(path):
    try:
        with open(path) as file:
            return json.load(file)
    except OSError as error:
        raise SystemExit(f"compare_results: cannot read {path}: {error.strerror}")
    except json.JSONDecodeError as error:
        raise SystemExit(f"compare_results: {path} is not valid JSON: {error}")


def reference_name(google_benchmark_name):
    """Map "BM_Recall/D:784/cues:256/steps:1/real_time" to "recall/D:784/cues:256/steps:1"."""
    parts = [part for part in google_benchmark_name.split("/") if part != "real_time"]
    prefix = GENMEM_PREFIXES.get(parts[0])
    if prefix is None:
        return None
    return "/".join([prefix] + parts[1:])


def read_genmem_results(paths):
    """Return {reference-style name: Google Benchmark entry} for every successful iteration run."""
    results = {}
    for path in paths:
        for entry in read_json(path).get("benchmarks", []):
            if entry.get("run_type", "iteration") != "iteration" or entry.get("error_occurred"):
                continue
            name = reference_name(entry["name"])
            if name is not None:
                results[name] = entry
    return results


def case_kind(name):
    return name.split("/", 1)[0]


REPLAY_KINDS = ("replay", "replay_images")


def format_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:#.3g}"


def format_ratio(genmem, reference):
    if genmem is None or reference is None or reference == 0:
        return "-"
    return f"{genmem / reference:.2f}"


def sgemm_share(rate, best_sgemm):
    """Return `rate` as a fraction of the sgemm rate, or None when either is unknown."""
    if rate is None or not best_sgemm:
        return None
    return rate / best_sgemm


def format_share(share):
    return "-" if share is None else f"{100 * share:.1f}%"


def recall_note(entry, steps):
    """Return a note with genmem's mean steps when it stopped before `steps`, else ""."""
    mean_steps = entry.get("mean_steps")
    if mean_steps is None or mean_steps >= steps:
        return ""
    return f"genmem stops at a fixed point: {mean_steps:.2f} mean steps; PyTorch runs {steps}"


def comparison_rows(reference, genmem, replays):
    """Return table rows (figure, unit, genmem, PyTorch, ratio, note) as strings."""
    rows = []
    flops = reference.get("flops_per_image", {})
    sgemm_rates = [
        result["gflop_per_second"]
        for result in reference["results"]
        if case_kind(result["name"]) == "sgemm"
    ]
    best_sgemm = max(sgemm_rates) if sgemm_rates else None

    for result in reference["results"]:
        name = result["name"]
        kind = case_kind(name)
        field, counter, unit = RATE_FIELDS[kind]
        pytorch_value = result.get(field)
        entry = replays.get(name) if kind in REPLAY_KINDS else genmem.get(name)
        genmem_value = entry.get(counter) if entry is not None and counter else None

        note = ""
        steps = result.get("steps")
        if kind in REPLAY_KINDS:
            steps = int(re.search(r"/steps:(\d+)", name).group(1))
        if entry is not None and steps is not None:
            note = recall_note(entry, steps)
        if kind in REPLAY_KINDS and entry is not None:
            note += (
                f"; max abs difference {entry['max_abs_difference']:.2g}, "
                f"{entry['mismatched_cues']} cues beyond {entry['tolerance']:g}"
            )
            if "cues_still_moving" in entry:
                note += (
                    f" ({entry['mismatched_cues_at_fixed_points']} at fixed points; "
                    f"{entry['cues_still_moving']} cues still moving after {steps} steps)"
                )
        if kind == "vae_train":
            note = f"PyTorch loss {result['loss']}"
        rows.append(
            (
                name,
                unit,
                format_value(genmem_value),
                format_value(pytorch_value),
                format_ratio(genmem_value, pytorch_value),
                note,
            )
        )

        if kind == "vae_train":
            architecture = name.split("/")[1].split(":", 1)[1]
            training_flops = flops[architecture]["training"]
            genmem_rate = None if genmem_value is None else genmem_value * training_flops / 1e9
            pytorch_rate = result["gflop_per_second"]
            rows.append(
                (
                    f"{name} GFLOP/s",
                    "GFLOP/s",
                    format_value(genmem_rate),
                    format_value(pytorch_rate),
                    format_ratio(genmem_rate, pytorch_rate),
                    f"{training_flops / 1e6:.1f} MFLOP per image (3 x forward)",
                )
            )
            rows.append(
                (
                    f"{name} share of sgemm",
                    "%",
                    format_share(sgemm_share(genmem_rate, best_sgemm)),
                    format_share(sgemm_share(pytorch_rate, best_sgemm)),
                    "-",
                    "" if best_sgemm is None else f"of PyTorch's {best_sgemm:.1f} GFLOP/s sgemm",
                )
            )
            fused_flops = flops[architecture].get("training_fused", training_flops)
            if fused_flops != training_flops:
                executed_rate = None if genmem_value is None else genmem_value * fused_flops / 1e9
                rows.append(
                    (
                        f"{name} share of sgemm, FLOPs executed",
                        "%",
                        format_share(sgemm_share(executed_rate, best_sgemm)),
                        "-",
                        "-",
                        f"genmem's fused layers execute {fused_flops / 1e6:.1f} MFLOP per image",
                    )
                )

    missing = sorted(set(genmem) - {result["name"] for result in reference["results"]})
    for name in missing:
        field, counter, unit = RATE_FIELDS[case_kind(name)]
        value = genmem[name].get(counter)
        rows.append((name, unit, format_value(value), "-", "-", "no PyTorch result"))
    return rows


def print_table(rows):
    header = ("figure", "unit", "genmem", "PyTorch", "genmem / PyTorch", "note")
    widths = [max(len(row[column]) for row in [header] + rows) for column in range(len(header))]

    def line(cells):
        padded = [
            cell.rjust(width) if 2 <= column <= 4 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(cells, widths))
        ]
        return "| " + " | ".join(padded) + " |"

    print(line(header))
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for row in rows:
        print(line(row))


def main(argv):
    arguments = parse_arguments(argv)
    references = [read_json(path) for path in arguments.reference]
    reference = dict(references[0])
    reference["results"] = [result for run in references for result in run.get("results", [])]
    genmem = read_genmem_results(arguments.genmem)
    replays = {}
    for path in arguments.replay:
        entry = read_json(path)
        replays[entry.get("name")] = entry

    context = reference.get("context", {})
    print(
        f"PyTorch {context.get('torch_version', '?')} with {context.get('threads', '?')} threads"
        f"{' (quick smoke test)' if context.get('quick') else ''}; ratio above 1 = genmem faster"
    )
    print()
    print_table(comparison_rows(reference, genmem, replays))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
