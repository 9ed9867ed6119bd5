"""Real data: classify the 8x8 hand-written digits with a small convolutional network.

Same data split, training loop, plot and save/load check as digits_mlp.py; only the model
changes.  Two 3x3 convolutions (padding 1 keeps the size) with ReLU, each followed by 2x2
max-pooling (8x8 -> 4x4 -> 2x2), then one Linear layer on the 32*2*2 features:

    Conv2d(1, 16, 3, padding=1) - ReLU - MaxPool2d(2)
    Conv2d(16, 32, 3, padding=1) - ReLU - MaxPool2d(2) - Flatten - Linear(128, 10)

A convolution shares one small filter across every position of the image, so it needs far
fewer weights than a Linear layer to look at every 3x3 patch; minitorch computes it as
im2col (every patch as a column) followed by one matrix multiply.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from minitorch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_mlp import cli, fit  # noqa: E402


def make_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),    # (N, 1, 8, 8)  -> (N, 16, 8, 8)
        nn.ReLU(),
        nn.MaxPool2d(2),                   #               -> (N, 16, 4, 4)
        nn.Conv2d(16, 32, 3, padding=1),   #               -> (N, 32, 4, 4)
        nn.ReLU(),
        nn.MaxPool2d(2),                   #               -> (N, 32, 2, 2)
        nn.Flatten(),                      #               -> (N, 128)
        nn.Linear(32 * 2 * 2, 10),
    )


def main(epochs: int = 30, quiet: bool = False, plot: Optional[str] = None,
         save: Optional[str] = None, seed: int = 0) -> dict:
    return fit(make_cnn, "cnn", (1, 8, 8), epochs, quiet, plot, save, seed=seed)


if __name__ == "__main__":
    cli(main, "cnn", 30)
