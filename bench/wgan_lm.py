"""The WGAN-GP character language model of Gulrajani et al. (2017) in PyTorch.

Shared by the benchmark baselines train_step.py and refine_step.py. It is the same
architecture as dgtext's charlm package (charlm/model.go, charlm/config.go), layer for
layer, so the two programs run the same libtorch kernels on the same shapes:

  generator: z [B, latent] -> Linear -> [B, dim, seq] -> residual blocks
             -> 1x1 conv to the vocabulary -> softmax per position -> [B, seq, vocab]
  critic:    [B, seq, vocab] -> 1x1 conv to dim -> residual blocks -> flatten
             -> Linear -> one score per sample [B]
  residual block: x + 0.3 * conv(relu(conv(relu(x)))), kernel 5, 'same' padding
"""
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# The presets of charlm/config.go. VOCAB is the size of the charmap dgtext builds from
# the team's billion-words training split ('unk' included); any value works.
PRESETS = {
    "tiny": dict(seq_len=32, latent=32, dim=32, blocks=1, kernel=5, res_scale=0.3),
    "small": dict(seq_len=32, latent=128, dim=128, blocks=5, kernel=5, res_scale=0.3),
    "paper": dict(seq_len=32, latent=128, dim=512, blocks=5, kernel=5, res_scale=0.3),
}
VOCAB = 107


class ResBlock(nn.Module):
    """x + scale * conv2(relu(conv1(relu(x))))."""

    def __init__(self, dim, kernel, scale):
        super().__init__()
        self.conv1 = nn.Conv1d(dim, dim, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(dim, dim, kernel, padding=kernel // 2)
        self.scale = scale

    def forward(self, x):
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        return x + self.scale * h


class Generator(nn.Module):
    def __init__(self, seq_len, latent, dim, blocks, kernel, res_scale, vocab):
        super().__init__()
        self.seq_len, self.dim = seq_len, dim
        self.fc = nn.Linear(latent, seq_len * dim)
        self.blocks = nn.Sequential(*[ResBlock(dim, kernel, res_scale) for _ in range(blocks)])
        self.out = nn.Conv1d(dim, vocab, 1)

    def forward(self, z):
        h = self.fc(z).view(-1, self.dim, self.seq_len)
        logits = self.out(self.blocks(h)).transpose(1, 2)  # [B, seq, vocab]
        return F.softmax(logits, dim=2)


class Critic(nn.Module):
    def __init__(self, seq_len, latent, dim, blocks, kernel, res_scale, vocab):
        super().__init__()
        self.seq_len, self.dim = seq_len, dim
        self.inp = nn.Conv1d(vocab, dim, 1)
        self.blocks = nn.Sequential(*[ResBlock(dim, kernel, res_scale) for _ in range(blocks)])
        self.fc = nn.Linear(seq_len * dim, 1)

    def forward(self, x):
        h = self.blocks(self.inp(x.transpose(1, 2)))
        return self.fc(h.reshape(-1, self.seq_len * self.dim)).view(-1)


def build(preset, vocab=VOCAB):
    """Returns (generator, critic, config) for a preset name."""
    cfg = dict(PRESETS[preset], vocab=vocab)
    return Generator(**cfg), Critic(**cfg), cfg


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def timed(fn):
    """Runs fn() and returns its wall time and the process's CPU time (all threads),
    in seconds. On a loaded machine the CPU time varies less than the wall time."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0
