#!/usr/bin/env python3
"""Time genmem's benchmark workloads in PyTorch eager, as a same-machine reference.

Each figure repeats a case of hopfield_benchmark.cpp or vae_benchmark.cpp with the same sizes:

- recall/D:<D>/cues:<B>/steps:<S>: modern Hopfield recall from B uniform-noise cues with
  N = 10,000 stored patterns uniform on [-1, 1], beta 20 scaled by 1/sqrt(D), softmax weights,
  then the new state weights x patterns. It runs exactly S steps, as the original algorithm does.
  genmem stops a cue early once its state no longer changes, so its 10-step figures cover fewer
  steps (its `mean_steps` counter).
- recall_matmul/D:<D>/cues:<B>: only the two matrix products of one recall step.
- vae_train/architecture:<name>/images:<count>: one training epoch on uniform-noise images, batch
  32, AMSGrad Adam with learning rate 1e-3 (see reference_vae.py). mnist_small (1x28x28) uses
  binary cross-entropy, as genmem's MNIST scenario does, and shapes3d_large (3x64x64) uses L1.
- sgemm/M:<M>/N:<N>/K:<K>: one float32 matrix product [M, K] x [K, N], the machine's reference
  rate (2 M N K FLOPs).
- replay/N:<N>/D:<D>/cues:<B>/steps:<S>: the replay of the consolidation simulation, by default
  10,000 random patterns of D = 12,288 and 10,000 uniform-noise cues for 10 fixed steps, split
  into chunks of max(1, chunk_elements // N) cues as genmem splits them (chunk_elements is
  genmem's parameter, default 16,777,216). It runs once, with no warm-up.
- replay_images/N:<N>/D:<D>/cues:<B>/steps:<S>: the same replay with the patterns of a memory
  that genmem saved (--replay-images FILE, a modern_hopfield checkpoint), such as the 10,000
  rendered Shapes3D scenes of tests/benchmarks/replay_images.toml, stored as 2x - 1. The cues are
  uniform on [-1, 1) as above. This is the paper's replay.
- With --replay-precision float64 the replay computes in float64 from the same float32 inputs, as
  the NumPy code of Spens & Burgess (2024) did, and its name gets the suffix /precision:float64.

Each timed case runs one warm-up iteration, then iterations until the minimum time has passed,
and reports the mean wall time per iteration. The VAE cases also report GFLOP/s from the
multiply-add count of each layer, printed at the start: training is counted as 3 forward passes.

--json FILE writes {"context": {...}, "flops_per_image": {...}, "results": [...]}. Each result has
"name", "seconds" (per iteration), "iterations" and its rates: "cues_per_second",
"images_per_second" or "gflop_per_second".

--dump-replay FILE also stores the replay's inputs and output for checking genmem against it
(replay_check.cpp does that). FILE and FILE.states are little-endian, C-order and headerless:
- FILE: float32 patterns [N, D] followed by float32 cues [B, D]. When FILE exists, the replay
  reads it, and its size must be (N + B) * D * 4 bytes for the --replay-* sizes. Otherwise the
  replay draws the cues, and the patterns unless --replay-images gives them, uniform on [-1, 1)
  from torch.Generator seeded with --seed, and writes FILE.
- FILE.states: float32 recalled states [B, D] after exactly S steps (rounded to float32 after a
  float64 replay).
- FILE.json: {"name": the replay's name, "patterns": N, "dim": D, "cues": B, "steps": S,
  "beta": 20.0, "similarity_scale": "inv_sqrt_dim", "precision": "float32" or "float64",
  "chunk_elements": C, "seed": seed}.

Run it with Debian's interpreter, /usr/bin/python3, because Debian's python3-torch package installs
into that interpreter's module path only.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import sys
import time
from functools import partial

import numpy as np
import torch

import reference_vae

STORED_PATTERNS = 10_000
BETA = 20.0
DEFAULT_CHUNK_ELEMENTS = 16_777_216
# (D, cues) of hopfield_benchmark.cpp.
RECALL_POINTS = [(784, 256), (12_288, 64)]
RECALL_STEPS = [1, 10]
# (architecture, images per epoch, loss) of vae_benchmark.cpp.
# NOTE: vae_benchmark.cpp trains both architectures with genmem's default loss, L1, so its
# mnist_small case differs from this one in the loss: a few elementwise operations on 784 values
# per image, small next to the 40 MFLOP per image of training.
VAE_POINTS = [("mnist_small", 320, "bce"), ("shapes3d_large", 128, "l1")]
VAE_BATCH_SIZE = 32
# Training FLOPs are estimated as 3 forward passes, because the backward pass computes two
# products (input and weight gradients) for each product of the forward pass.
TRAINING_FLOPS_PER_FORWARD = 3
SGEMM_SHAPES = [(2048, 2048, 2048), (4096, 4096, 1024)]


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="Time genmem's benchmark workloads in PyTorch eager.",
        epilog="Run it with /usr/bin/python3, which has Debian's python3-torch.",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="intra-op threads (torch.set_num_threads); default 2"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 0.1 s minimum time per case and a replay of 96 cues",
    )
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE")
    parser.add_argument(
        "--filter", metavar="REGEX", help="run only the cases whose name matches REGEX (re.search)"
    )
    parser.add_argument(
        "--dump-replay",
        metavar="FILE",
        help="when the replay runs, read or write its patterns and cues in FILE and write its "
        "states to FILE.states (format in the module docstring)",
    )
    parser.add_argument(
        "--replay-patterns", type=int, default=STORED_PATTERNS, help="replay: stored patterns N"
    )
    parser.add_argument("--replay-dim", type=int, default=12_288, help="replay: pattern size D")
    parser.add_argument(
        "--replay-cues", type=int, help="replay: cues B; default 10,000, or 96 with --quick"
    )
    parser.add_argument("--replay-steps", type=int, default=10, help="replay: update steps")
    parser.add_argument(
        "--chunk-elements",
        type=int,
        help="replay: values in one chunk's [cues, N] logit matrix; default 16,777,216, or "
        "640,000 with --quick so the quick replay runs in two chunks",
    )
    parser.add_argument(
        "--replay-images",
        metavar="FILE",
        help="replay the patterns of this genmem modern_hopfield checkpoint (for example the "
        "hippocampus.pt of tests/benchmarks/replay_images.toml) instead of random ones; N and D "
        "come from the file",
    )
    parser.add_argument(
        "--replay-precision",
        choices=("float32", "float64"),
        default="float32",
        help="replay: number format of the recall; Spens & Burgess (2024) computed in float64 "
        "(default float32)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random tensor")
    arguments = parser.parse_args(argv)

    arguments.image_patterns = None
    if arguments.replay_images:
        arguments.image_patterns = read_memory_patterns(arguments.replay_images)
        arguments.replay_patterns, arguments.replay_dim = arguments.image_patterns.shape

    if arguments.replay_cues is None:
        arguments.replay_cues = 96 if arguments.quick else 10_000
    if arguments.chunk_elements is None:
        arguments.chunk_elements = 640_000 if arguments.quick else DEFAULT_CHUNK_ELEMENTS
    for name in (
        "threads",
        "replay_patterns",
        "replay_dim",
        "replay_cues",
        "replay_steps",
        "chunk_elements",
    ):
        if getattr(arguments, name) < 1:
            option = "--" + name.replace("_", "-")
            parser.error(f"{option} must be at least 1 (got {getattr(arguments, name)})")
    return arguments


def read_memory_patterns(path):
    """Return the float32 patterns [N, D] of a memory that genmem's modern_hopfield saved."""
    try:
        saved = torch.load(path)
    except (OSError, RuntimeError, ValueError) as error:
        raise SystemExit(f"pytorch_reference: cannot read the memory {path}: {error}")
    if (
        not isinstance(saved, tuple)
        or len(saved) < 3
        or saved[0] != "genmem.modern_hopfield"
        or not isinstance(saved[2], torch.Tensor)
        or saved[2].dim() != 2
    ):
        raise SystemExit(
            f"pytorch_reference: {path} is not a saved modern_hopfield memory; write one with "
            f"genmem run tests/benchmarks/replay_images.toml"
        )
    return saved[2].to(torch.float32).contiguous()


def time_iterations(run, min_seconds):
    """Run `run` once to warm up, then time it until `min_seconds` have passed.

    Returns (mean seconds per iteration, timed iterations).
    """
    run()
    iterations = 0
    start = time.perf_counter()
    while True:
        run()
        iterations += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / iterations, iterations


def uniform_noise(shape, generator):
    """Return float32 values uniform on [-1, 1)."""
    return torch.rand(shape, generator=generator).mul_(2).sub_(1)


def chunk_rows(chunk_elements, stored, cues):
    """Return the cues per recall chunk as genmem computes it: chunk_elements // N in [1, B]."""
    return min(max(chunk_elements // stored, 1), max(cues, 1))


def recall_fixed_steps(patterns, cues, steps, chunk):
    """Iterate xi <- X^T softmax(beta / sqrt(D) * X xi) exactly `steps` times from each cue.

    `patterns` is X [N, D], `cues` is [B, D], and `chunk` cues are processed at a time. Returns the
    states [B, D].
    """
    beta_effective = BETA / math.sqrt(patterns.shape[1])
    transposed = patterns.t()
    states = torch.empty_like(cues)
    for start in range(0, cues.shape[0], chunk):
        state = cues[start : start + chunk]
        for _ in range(steps):
            weights = torch.softmax(torch.mm(state, transposed).mul_(beta_effective), dim=1)
            state = torch.mm(weights, patterns)
        states[start : start + chunk] = state
    return states


def sgemm_case(m, n, k, generator):
    left = torch.rand(m, k, generator=generator)
    right = torch.rand(k, n, generator=generator)
    product = torch.empty(m, n)

    def run():
        torch.mm(left, right, out=product)

    def rates(seconds):
        return {"gflop_per_second": 2.0 * m * n * k / seconds / 1e9}

    return run, rates


def recall_matmul_case(dim, cue_count, generator):
    patterns = torch.rand(STORED_PATTERNS, dim, generator=generator)
    cues = torch.rand(cue_count, dim, generator=generator)
    logits = torch.empty(cue_count, STORED_PATTERNS)
    states = torch.empty(cue_count, dim)

    def run():
        torch.mm(cues, patterns.t(), out=logits)
        torch.mm(logits, patterns, out=states)

    def rates(seconds):
        flops = 4.0 * cue_count * dim * STORED_PATTERNS
        return {"gflop_per_second": flops / seconds / 1e9, "cues_per_second": cue_count / seconds}

    return run, rates


def recall_case(dim, cue_count, steps, generator):
    patterns = uniform_noise((STORED_PATTERNS, dim), generator)
    cues = uniform_noise((cue_count, dim), generator)
    chunk = chunk_rows(DEFAULT_CHUNK_ELEMENTS, STORED_PATTERNS, cue_count)

    def run():
        recall_fixed_steps(patterns, cues, steps, chunk)

    def rates(seconds):
        return {"cues_per_second": cue_count / seconds, "steps": steps}

    return run, rates


def vae_case(architecture, image_count, loss, training_flops, seed):
    trainer = reference_vae.Trainer(architecture, loss, VAE_BATCH_SIZE, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    shape = (image_count,) + reference_vae.IMAGE_SHAPES[architecture]
    images = torch.rand(shape, generator=generator)

    def run():
        trainer.train_epoch(images)

    def rates(seconds):
        images_per_second = image_count / seconds
        return {
            "images_per_second": images_per_second,
            "gflop_per_second": images_per_second * training_flops / 1e9,
            "loss": loss,
        }

    return run, rates


def count_training_flops():
    """Return {architecture: {"forward", "training", "training_fused", "layers"}} with FLOPs
    per image. "training_fused" counts what genmem executes with its layers fused."""
    counts = {}
    for architecture, _, _ in VAE_POINTS:
        layers = reference_vae.count_forward_flops(architecture)
        forward = sum(flops for _, _, flops in layers)
        fused = reference_vae.fused_forward_flops(architecture, layers)
        counts[architecture] = {
            "forward": forward,
            "training": TRAINING_FLOPS_PER_FORWARD * forward,
            "training_fused": TRAINING_FLOPS_PER_FORWARD * fused,
            "layers": [
                {"layer": name, "output_shape": list(shape), "flops": flops}
                for name, shape, flops in layers
            ],
        }
    return counts


def print_flop_counts(counts):
    for architecture, count in counts.items():
        print(f"FLOPs per image, {architecture} (multiply-add = 2 FLOPs, forward pass):")
        for layer in count["layers"]:
            shape = "x".join(str(size) for size in layer["output_shape"])
            print(f"  {layer['layer']:<20} {shape:>12}  {layer['flops'] / 1e6:9.3f} MFLOP")
        print(
            f"  {'forward total':<20} {'':>12}  {count['forward'] / 1e6:9.3f} MFLOP; training "
            f"(x{TRAINING_FLOPS_PER_FORWARD}) {count['training'] / 1e6:.3f} MFLOP"
        )


def replay_name(arguments):
    kind = "replay_images" if arguments.image_patterns is not None else "replay"
    precision = "" if arguments.replay_precision == "float32" else "/precision:float64"
    return (
        f"{kind}/N:{arguments.replay_patterns}/D:{arguments.replay_dim}"
        f"/cues:{arguments.replay_cues}/steps:{arguments.replay_steps}{precision}"
    )


def load_or_draw_replay_inputs(arguments):
    """Return (patterns [N, D], cues [B, D]) from --dump-replay FILE, or drawn with --seed."""
    count, dim, cue_count = arguments.replay_patterns, arguments.replay_dim, arguments.replay_cues
    path = arguments.dump_replay
    if path and os.path.exists(path):
        expected_bytes = (count + cue_count) * dim * 4
        actual_bytes = os.path.getsize(path)
        if actual_bytes != expected_bytes:
            raise SystemExit(
                f"pytorch_reference: {path} has {actual_bytes} bytes, but N = {count}, "
                f"B = {cue_count}, D = {dim} need (N + B) * D * 4 = {expected_bytes}. Pass the "
                f"--replay-patterns, --replay-cues and --replay-dim it was written with, or "
                f"delete it to draw new inputs."
            )
        values = torch.from_numpy(np.fromfile(path, dtype="<f4").astype(np.float32, copy=False))
        values = values.view(count + cue_count, dim)
        return values[:count], values[count:]

    generator = torch.Generator().manual_seed(arguments.seed)
    if arguments.image_patterns is not None:
        patterns = arguments.image_patterns
    else:
        patterns = uniform_noise((count, dim), generator)
    cues = uniform_noise((cue_count, dim), generator)
    if path:
        write_float32([patterns, cues], path)
    return patterns, cues


def write_float32(tensors, path):
    """Write `tensors` one after another as little-endian float32 to `path`, atomically."""
    temporary = path + ".tmp"
    with open(temporary, "wb") as file:
        for tensor in tensors:
            tensor.contiguous().numpy().astype("<f4", copy=False).tofile(file)
    os.replace(temporary, path)


def run_replay(arguments):
    """Run the replay once; return its result, and store its files with --dump-replay."""
    patterns, cues = load_or_draw_replay_inputs(arguments)
    chunk = chunk_rows(arguments.chunk_elements, patterns.shape[0], cues.shape[0])
    dtype = torch.float64 if arguments.replay_precision == "float64" else torch.float32
    # genmem converts the patterns when it stores them, outside its timed recall. Inside it, it
    # converts the cues and rounds the states it returns to float32, as this timed part does.
    patterns = patterns.to(dtype)
    start = time.perf_counter()
    states = recall_fixed_steps(patterns, cues.to(dtype), arguments.replay_steps, chunk)
    states = states.to(torch.float32)
    seconds = time.perf_counter() - start

    if arguments.dump_replay:
        write_float32([states], arguments.dump_replay + ".states")
        description = {
            "name": replay_name(arguments),
            "patterns": arguments.replay_patterns,
            "dim": arguments.replay_dim,
            "cues": arguments.replay_cues,
            "steps": arguments.replay_steps,
            "beta": BETA,
            "similarity_scale": "inv_sqrt_dim",
            "precision": arguments.replay_precision,
            "chunk_elements": arguments.chunk_elements,
            "seed": arguments.seed,
        }
        with open(arguments.dump_replay + ".json", "w") as file:
            json.dump(description, file, indent=2)
            file.write("\n")

    flops = 4.0 * cues.shape[0] * patterns.shape[0] * patterns.shape[1] * arguments.replay_steps
    return {
        "name": replay_name(arguments),
        "seconds": seconds,
        "iterations": 1,
        "cues_per_second": cues.shape[0] / seconds,
        "gflop_per_second": flops / seconds / 1e9,
        "chunk_cues": chunk,
    }


def timed_cases(arguments, flop_counts):
    """Yield (name, minimum seconds, factory) for every timed case; factory returns (run, rates)."""
    generator = torch.Generator().manual_seed(arguments.seed)
    short = 0.1 if arguments.quick else None
    for m, n, k in SGEMM_SHAPES:
        yield f"sgemm/M:{m}/N:{n}/K:{k}", short or 1.0, partial(sgemm_case, m, n, k, generator)
    for dim, cue_count in RECALL_POINTS:
        yield (
            f"recall_matmul/D:{dim}/cues:{cue_count}",
            short or 1.0,
            partial(recall_matmul_case, dim, cue_count, generator),
        )
        for steps in RECALL_STEPS:
            yield (
                f"recall/D:{dim}/cues:{cue_count}/steps:{steps}",
                short or 1.0,
                partial(recall_case, dim, cue_count, steps, generator),
            )
    for architecture, image_count, loss in VAE_POINTS:
        training_flops = flop_counts[architecture]["training"]
        yield (
            f"vae_train/architecture:{architecture}/images:{image_count}",
            short or 3.0,
            partial(vae_case, architecture, image_count, loss, training_flops, arguments.seed),
        )


def selected(name, pattern):
    return pattern is None or re.search(pattern, name) is not None


def format_rates(result):
    parts = [f"{result['seconds'] * 1e3:10.1f} ms x {result['iterations']}"]
    for key in ("cues_per_second", "images_per_second", "gflop_per_second"):
        if key in result:
            parts.append(f"{key} {result[key]:,.1f}")
    return "  ".join(parts)


def main(argv):
    arguments = parse_arguments(argv)
    torch.set_num_threads(arguments.threads)
    print(
        f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads"
        f"{', quick smoke test' if arguments.quick else ''}"
    )

    flop_counts = count_training_flops()
    print_flop_counts(flop_counts)

    results = []
    for name, min_seconds, factory in timed_cases(arguments, flop_counts):
        if not selected(name, arguments.filter):
            continue
        run, rates = factory()
        seconds, iterations = time_iterations(run, min_seconds)
        result = {"name": name, "seconds": seconds, "iterations": iterations}
        result.update(rates(seconds))
        results.append(result)
        print(f"{name:<48} {format_rates(result)}", flush=True)
        del run, rates

    if selected(replay_name(arguments), arguments.filter):
        result = run_replay(arguments)
        results.append(result)
        print(f"{result['name']:<48} {format_rates(result)}", flush=True)

    if arguments.json:
        context = {
            "program": "pytorch_reference.py",
            "torch_version": torch.__version__,
            "threads": torch.get_num_threads(),
            "quick": arguments.quick,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        }
        with open(arguments.json, "w") as file:
            json.dump(
                {"context": context, "flops_per_image": flop_counts, "results": results},
                file,
                indent=2,
            )
            file.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
