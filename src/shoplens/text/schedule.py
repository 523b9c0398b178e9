"""The learning-rate schedule every encoder fine-tuning path here uses: linear warm-up, then linear decay to 0.

    schedule = linear_warmup_decay(optimiser, total_steps=steps, warmup_share=0.1)
    ... optimiser.step(); schedule.step()

Step s (0-based) gets lr x min((s + 1) / warmup, (total - s) / (total - warmup)), warmup = max(1, share x total):
the first step already trains (transformers' `get_linear_schedule_with_warmup` starts at 0, which would waste
it on tiny fits).
"""

from __future__ import annotations

import torch


def linear_warmup_decay(optimiser: torch.optim.Optimizer, total_steps: int,
                        warmup_share: float = 0.1) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = max(1, int(warmup_share * total_steps))
    decay = max(1, total_steps - warmup)
    return torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / decay)))
