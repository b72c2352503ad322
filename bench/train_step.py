#!/usr/bin/env python3
"""PyTorch baseline for `dgtext bench train`: one WGAN-GP training iteration of the
character language model (Gulrajani et al. 2017), timed.

One generator iteration is --critic-iters critic updates, each on a fresh batch of
one-hot real lines and of generator samples (made without gradient), with the
gradient penalty lambda * E[(||grad_xhat D(xhat)||_2 - 1)^2] on random interpolates
xhat between the two (the norm over sequence and vocabulary), then one generator
update that maximises E[D(G(z))] with the critic's weights frozen. Adam, lr 1e-4,
betas (0.5, 0.9), for both networks. Real lines are random character indexes (the
cost does not depend on the text).

It prints one JSON object: the median seconds per generator iteration over --iters
iterations after --warmup, and the individual times (wall clock, and CPU time of
the process's threads together).

    /usr/bin/python3 bench/train_step.py --preset small --threads 2 --iters 5
    dgtext bench train --preset small --threads 2 --iters 5 --json

Debian's python3-torch 1.13.1 links the same libtorch as dgtext, so both run the
same kernels; note that its libtorch starts with one OpenMP thread unless told.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

from wgan_lm import PRESETS, VOCAB, build, median, timed


class WGANGP:
    def __init__(self, preset, vocab, batch, critic_iters, lr=1e-4, betas=(0.5, 0.9), lam=10.0, lines=10000):
        self.G, self.D, self.cfg = build(preset, vocab)
        self.batch, self.critic_iters, self.lam = batch, critic_iters, lam
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas)
        self.corpus = torch.randint(0, vocab, (lines, self.cfg["seq_len"]))
        self.last = {}

    def real_batch(self):
        idx = torch.randint(0, self.corpus.shape[0], (self.batch,))
        return F.one_hot(self.corpus[idx], self.cfg["vocab"]).float()

    def latents(self):
        return torch.randn(self.batch, self.cfg["latent"])

    def gradient_penalty(self, real, fake):
        alpha = torch.rand(self.batch, 1, 1)
        xhat = (real + alpha * (fake - real)).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.D(xhat).sum(), xhat, create_graph=True)
        norm = (grad.square().sum(dim=(1, 2)) + 1e-12).sqrt()
        return self.lam * (norm - 1).square().mean()

    def step(self):
        for p in self.D.parameters():
            p.requires_grad_(True)
        for _ in range(self.critic_iters):
            real = self.real_batch()
            with torch.no_grad():
                fake = self.G(self.latents())
            d_real, d_fake = self.D(real).mean(), self.D(fake).mean()
            gp = self.gradient_penalty(real, fake)
            loss = d_fake - d_real + gp
            self.opt_d.zero_grad()
            loss.backward()
            self.opt_d.step()
            # Read the losses every critic step, as a trainer that checks for NaN does.
            self.last.update(critic_loss=loss.item(), wasserstein=(d_real - d_fake).item(), gp=gp.item())

        for p in self.D.parameters():
            p.requires_grad_(False)
        g_loss = -self.D(self.G(self.latents())).mean()
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        self.last["gen_loss"] = g_loss.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--vocab", type=int, default=VOCAB)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--critic-iters", type=int, default=10)
    ap.add_argument("--iters", type=int, default=5, help="timed generator iterations")
    ap.add_argument("--warmup", type=int, default=1, help="untimed generator iterations first")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = one per core)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.iters < 1 or a.batch < 1 or a.critic_iters < 1:
        sys.exit("train_step.py: --iters, --batch and --critic-iters must be at least 1")

    torch.set_num_threads(a.threads if a.threads > 0 else os.cpu_count() or 1)
    torch.manual_seed(a.seed)
    t = WGANGP(a.preset, a.vocab, a.batch, a.critic_iters)
    for _ in range(a.warmup):
        t.step()
    times, cpu = zip(*[timed(t.step) for _ in range(a.iters)])
    sec = median(times)
    json.dump({
        "program": "bench/train_step.py",
        "torch": torch.__version__,
        "preset": a.preset, "vocab": a.vocab, "batch": a.batch, "critic_iters": a.critic_iters,
        "threads": torch.get_num_threads(),
        "iters": a.iters, "warmup": a.warmup,
        "seconds_per_iter": sec,
        "iters_per_second": 1 / sec,
        "cpu_seconds_per_iter": median(cpu),
        "times": times,
        "cpu_times": cpu,
        "last": t.last,
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
