#!/usr/bin/env python3
"""Known-answer tests of the PyTorch reference (pytorch_reference.py and reference_vae.py).

scripts/bench runs them before any timing. They need Debian's python3-torch, so run them with
/usr/bin/python3 tests/benchmarks/reference_test.py. They take a few seconds.
"""

import json
import math
import os
import tempfile
import unittest

import numpy as np
import torch

import pytorch_reference
import reference_vae


def hadamard(size):
    """Return the size x size Sylvester Hadamard matrix: +1/-1 entries, orthogonal rows."""
    matrix = torch.ones(1, 1)
    while matrix.shape[0] < size:
        matrix = torch.cat([torch.cat([matrix, matrix], 1), torch.cat([matrix, -matrix], 1)], 0)
    return matrix


class FlopCountTest(unittest.TestCase):
    def test_mnist_small_forward_flops(self):
        layers = reference_vae.count_forward_flops("mnist_small")
        flops = {name: count for name, _, count in layers}
        # conv1: 14 x 14 outputs x 32 channels x (1 x 3 x 3) multiply-adds.
        self.assertEqual(flops["encoder.conv1"], 2 * 14 * 14 * 32 * 9)
        # deconv2: 14 x 14 inputs x 64 channels, each spread over 32 channels x 3 x 3.
        self.assertEqual(flops["decoder.deconv2"], 2 * 14 * 14 * 64 * 32 * 9)
        self.assertEqual(sum(flops.values()), 2 * 6_718_432)

    def test_shapes3d_large_forward_flops(self):
        layers = reference_vae.count_forward_flops("shapes3d_large")
        flops = {name: count for name, _, count in layers}
        # The first decoder convolution: 8 x 8 outputs x 128 channels x (256 x 3 x 3).
        self.assertEqual(flops["decoder.convs.0"], 2 * 8 * 8 * 128 * 256 * 9)
        self.assertEqual(sum(flops.values()), 2 * 74_968_576)


class NetworkShapeTest(unittest.TestCase):
    def test_mnist_small_shapes(self):
        encoder, decoder = reference_vae.make_networks("mnist_small")
        mean, log_var = encoder(torch.rand(2, 1, 28, 28))
        self.assertEqual(tuple(mean.shape), (2, 20))
        self.assertEqual(tuple(log_var.shape), (2, 20))
        self.assertEqual(tuple(decoder(mean).shape), (2, 1, 28, 28))

    def test_shapes3d_large_shapes(self):
        encoder, decoder = reference_vae.make_networks("shapes3d_large")
        mean, _ = encoder(torch.rand(2, 3, 64, 64))
        self.assertEqual(tuple(mean.shape), (2, 20))
        self.assertEqual(tuple(decoder(mean).shape), (2, 3, 64, 64))

    def test_frozen_batch_norm_is_affine(self):
        norm = reference_vae.FrozenBatchNorm2d(1)
        with torch.no_grad():
            norm.gamma.fill_(2.0)
            norm.beta.fill_(1.0)
        output = norm.train()(torch.ones(1, 1, 2, 2))
        expected = 2.0 / math.sqrt(1.0 + 1e-3) + 1.0
        self.assertTrue(torch.allclose(output, torch.full((1, 1, 2, 2), expected)))
        self.assertTrue(torch.equal(norm.running_var, torch.ones(1)))


class LossTest(unittest.TestCase):
    def test_l1_sums_pixels_of_channel_mean(self):
        error = reference_vae.reconstruction_error(
            torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4), "l1"
        )
        self.assertTrue(torch.allclose(error, torch.full((2,), 16.0)))

    def test_bce_at_one_half(self):
        error = reference_vae.reconstruction_error(
            torch.ones(1, 1, 4, 4), torch.full((1, 1, 4, 4), 0.5), "bce"
        )
        self.assertAlmostEqual(error.item(), 16 * math.log(2.0), places=4)

    def test_kl_of_unit_mean(self):
        images = torch.zeros(1, 1, 2, 2)
        _, _, kl = reference_vae.vae_loss(
            images, images + 0.5, torch.ones(1, 20), torch.zeros(1, 20), "l1"
        )
        # 0.5 * sum of mean^2 over 20 latents with unit variance.
        self.assertAlmostEqual(kl.item(), 10.0, places=5)

    def test_optimizer_is_keras_amsgrad_adam(self):
        trainer = reference_vae.Trainer("mnist_small", "bce", batch_size=32)
        defaults = trainer.optimizer.defaults
        self.assertTrue(defaults["amsgrad"])
        self.assertEqual(defaults["lr"], 1e-3)
        self.assertEqual(defaults["eps"], 1e-7)
        self.assertEqual(defaults["betas"], (0.9, 0.999))


class RecallTest(unittest.TestCase):
    def test_chunk_rows_matches_genmem_rule(self):
        self.assertEqual(pytorch_reference.chunk_rows(16_777_216, 10_000, 10_000), 1677)
        self.assertEqual(pytorch_reference.chunk_rows(640_000, 10_000, 96), 64)
        self.assertEqual(pytorch_reference.chunk_rows(10, 10_000, 5), 1)
        self.assertEqual(pytorch_reference.chunk_rows(16_777_216, 10, 5), 5)

    def test_stored_pattern_is_fixed_point(self):
        patterns = hadamard(16)
        states = pytorch_reference.recall_fixed_steps(patterns, patterns[3:5].clone(), 10, 8)
        self.assertTrue(torch.allclose(states, patterns[3:5], atol=1e-6))

    def test_midpoint_of_two_patterns_is_fixed_point(self):
        # Two orthogonal patterns get equal logits from their midpoint, so the softmax weights are
        # one half each and the new state is the midpoint again.
        patterns = hadamard(16)[:2]
        midpoint = patterns.mean(0, keepdim=True)
        states = pytorch_reference.recall_fixed_steps(patterns, midpoint, 10, 1)
        self.assertTrue(torch.allclose(states, midpoint, atol=1e-6))

    def test_one_step_matches_formula(self):
        generator = torch.Generator().manual_seed(1)
        patterns = pytorch_reference.uniform_noise((50, 16), generator)
        cues = pytorch_reference.uniform_noise((7, 16), generator)
        states = pytorch_reference.recall_fixed_steps(patterns, cues, 1, 3)
        weights = torch.softmax(20.0 / 4.0 * cues.double() @ patterns.double().T, dim=1)
        expected = (weights @ patterns.double()).float()
        self.assertLess((states - expected).abs().max().item(), 1e-6)

    def test_chunking_does_not_change_states(self):
        generator = torch.Generator().manual_seed(2)
        patterns = pytorch_reference.uniform_noise((40, 64), generator)
        cues = pytorch_reference.uniform_noise((9, 64), generator)
        whole = pytorch_reference.recall_fixed_steps(patterns, cues, 10, 9)
        chunked = pytorch_reference.recall_fixed_steps(patterns, cues, 10, 4)
        self.assertLess((whole - chunked).abs().max().item(), 1e-6)


class DumpReplayTest(unittest.TestCase):
    def run_replay(self, path, patterns=30, cues=5, extra=()):
        arguments = pytorch_reference.parse_arguments(
            [
                "--dump-replay",
                path,
                "--replay-patterns",
                str(patterns),
                "--replay-dim",
                "8",
                "--replay-cues",
                str(cues),
                "--chunk-elements",
                "60",
                *extra,
            ]
        )
        return pytorch_reference.run_replay(arguments)

    def test_files_have_documented_layout(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "replay.f32")
            result = self.run_replay(path)
            self.assertEqual(result["name"], "replay/N:30/D:8/cues:5/steps:10")
            self.assertEqual(result["chunk_cues"], 2)
            self.assertEqual(os.path.getsize(path), (30 + 5) * 8 * 4)
            self.assertEqual(os.path.getsize(path + ".states"), 5 * 8 * 4)
            with open(path + ".json") as file:
                description = json.load(file)
            self.assertEqual(description["patterns"], 30)
            self.assertEqual(description["cues"], 5)
            self.assertEqual(description["chunk_elements"], 60)
            self.assertEqual(description["name"], "replay/N:30/D:8/cues:5/steps:10")

            inputs = torch.from_numpy(np.fromfile(path, dtype="<f4")).view(35, 8)
            states = torch.from_numpy(np.fromfile(path + ".states", dtype="<f4")).view(5, 8)
            expected = pytorch_reference.recall_fixed_steps(inputs[:30], inputs[30:], 10, 5)
            self.assertLess((states - expected).abs().max().item(), 1e-6)

    def test_float64_replay_computes_in_float64(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "replay.f32")
            result = self.run_replay(path, extra=("--replay-precision", "float64"))
            self.assertEqual(result["name"], "replay/N:30/D:8/cues:5/steps:10/precision:float64")
            with open(path + ".json") as file:
                self.assertEqual(json.load(file)["precision"], "float64")
            inputs = torch.from_numpy(np.fromfile(path, dtype="<f4")).view(35, 8).double()
            states = torch.from_numpy(np.fromfile(path + ".states", dtype="<f4")).view(5, 8)
            expected = pytorch_reference.recall_fixed_steps(inputs[:30], inputs[30:], 10, 5)
            self.assertEqual(expected.dtype, torch.float64)
            # The states file rounds the float64 states to float32, which moves a value in
            # [-1, 1] by at most 2^-25.
            self.assertLessEqual((states.double() - expected).abs().max().item(), 2.0**-25)

    def test_existing_inputs_are_read(self):
        # Orthogonal patterns as cues: each is a fixed point, so the states equal the cues only
        # when the replay used the file's values rather than random ones.
        patterns = hadamard(8)
        cues = patterns[[6, 1, 3]]
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "replay.f32")
            torch.cat([patterns, cues]).numpy().astype("<f4").tofile(path)
            self.run_replay(path, patterns=8, cues=3)
            states = np.fromfile(path + ".states", dtype="<f4").reshape(3, 8)
            self.assertLess(np.abs(states - cues.numpy()).max(), 1e-6)

    def test_wrong_file_size_is_rejected(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "replay.f32")
            np.zeros(7, dtype="<f4").tofile(path)
            with self.assertRaisesRegex(SystemExit, "has 28 bytes"):
                self.run_replay(path)


class ReplayImagesTest(unittest.TestCase):
    def test_patterns_come_from_the_saved_memory(self):
        # The 16 Hadamard rows as stored patterns: a cue drawn uniform on [-1, 1) lands on one
        # of them, so every state is a stored row, and the dumped patterns are the saved ones.
        patterns = hadamard(16)
        with tempfile.TemporaryDirectory() as folder:
            memory = os.path.join(folder, "hippocampus.pt")
            torch.save(("genmem.modern_hopfield", 1, patterns, 20.0, "inv_sqrt_dim"), memory)
            path = os.path.join(folder, "replay.f32")
            arguments = pytorch_reference.parse_arguments(
                ["--replay-images", memory, "--dump-replay", path, "--replay-cues", "4"]
            )
            result = pytorch_reference.run_replay(arguments)
            self.assertEqual(result["name"], "replay_images/N:16/D:16/cues:4/steps:10")
            inputs = torch.from_numpy(np.fromfile(path, dtype="<f4")).view(20, 16)
            self.assertTrue(torch.equal(inputs[:16], patterns))
            states = torch.from_numpy(np.fromfile(path + ".states", dtype="<f4")).view(4, 16)
            distances = torch.cdist(states, patterns).min(dim=1).values
            self.assertLess(distances.max().item(), 1e-4)

    def test_other_files_are_rejected(self):
        with tempfile.TemporaryDirectory() as folder:
            memory = os.path.join(folder, "other.pt")
            torch.save(("genmem.vae", 1, torch.zeros(2, 2)), memory)
            with self.assertRaisesRegex(SystemExit, "is not a saved modern_hopfield memory"):
                pytorch_reference.parse_arguments(["--replay-images", memory])
            missing = os.path.join(folder, "missing.pt")
            with self.assertRaisesRegex(SystemExit, "cannot read the memory"):
                pytorch_reference.parse_arguments(["--replay-images", missing])


if __name__ == "__main__":
    unittest.main()
