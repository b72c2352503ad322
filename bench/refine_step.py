#!/usr/bin/env python3
"""PyTorch baseline for `dgtext bench refine`: one DGflow refinement step of a batch
of latents through the WGAN-GP character language model, timed.

One step (Euler-Maruyama on the DGflow SDE, Ansari et al. 2021, Algorithm 1):

    d = D(G(z));  z <- z + eta * s(d) * grad_z d + sqrt(2 * eta * gamma) * xi

Two variants of computing grad_z d:

  reference  as the public DGflow code does it: the models' parameters still require
             gradients, d.backward() fills z.grad and, on the way, every parameter's
             .grad as well (accumulated step after step, never used).
  lean       the parameters are frozen and torch.autograd.grad(d.sum(), z) computes
             the gradient with respect to z alone.

It prints one JSON object with the median seconds per step over --steps steps after
one warm-up step, and the individual times (wall clock, and CPU time of the
process's threads together).

    /usr/bin/python3 bench/refine_step.py --preset paper --batch 64 --variant lean --threads 2
    dgtext bench refine --preset paper --batch 64 --threads 2 --json
"""
import argparse
import json
import math
import os
import sys

import torch

from wgan_lm import PRESETS, VOCAB, build, median, timed

WEIGHTS = {
    "kl": lambda d: torch.ones_like(d),
    "js": torch.sigmoid,
    "logd": lambda d: torch.sigmoid(-d),
}


class Refiner:
    def __init__(self, G, D, variant, f="kl", eta=0.1, gamma=0.01):
        self.G, self.D, self.variant = G, D, variant
        self.weight, self.eta, self.noise = WEIGHTS[f], eta, math.sqrt(2 * eta * gamma)
        if variant == "lean":
            for p in list(G.parameters()) + list(D.parameters()):
                p.requires_grad_(False)

    def grad(self, z):
        """Returns (d, grad_z d) at z."""
        z = z.detach().clone().requires_grad_(True)
        d = self.D(self.G(z))
        if self.variant == "reference":
            d.backward(torch.ones_like(d))
            return d.detach(), z.grad
        (g,) = torch.autograd.grad(d.sum(), z)
        return d.detach(), g

    def step(self, z):
        d, g = self.grad(z)
        s = self.weight(d).unsqueeze(1)
        return z.detach() + self.eta * s * g + self.noise * torch.randn_like(z)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="paper")
    ap.add_argument("--variant", choices=["reference", "lean"], default="lean")
    ap.add_argument("--f", choices=sorted(WEIGHTS), default="kl")
    ap.add_argument("--vocab", type=int, default=VOCAB)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5, help="timed steps, after one warm-up step")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = one per core)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.steps < 1 or a.batch < 1:
        sys.exit("refine_step.py: --steps and --batch must be at least 1")

    torch.set_num_threads(a.threads if a.threads > 0 else os.cpu_count() or 1)
    torch.manual_seed(a.seed)
    G, D, cfg = build(a.preset, a.vocab)
    r = Refiner(G, D, a.variant, a.f)
    z = torch.randn(a.batch, cfg["latent"])
    z = r.step(z)  # warm-up
    times, cpu = [], []
    for _ in range(a.steps):
        out = []
        wall, c = timed(lambda: out.append(r.step(z)))
        times.append(wall)
        cpu.append(c)
        z = out[0]
    sec = median(times)
    json.dump({
        "program": "bench/refine_step.py",
        "torch": torch.__version__,
        "variant": a.variant, "method": "dgflow-" + a.f,
        "preset": a.preset, "vocab": a.vocab, "batch": a.batch,
        "threads": torch.get_num_threads(),
        "steps": a.steps,
        "seconds_per_step": sec,
        "samples_steps_per_second": a.batch / sec,
        "cpu_seconds_per_step": median(cpu),
        "times": times,
        "cpu_times": cpu,
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
