"""shoplens.text.schedule: linear warm-up then linear decay to 0, trained from the first step."""

import pytest
import torch

from shoplens.text.schedule import linear_warmup_decay


def test_linear_warmup_decay_rises_then_falls_to_zero():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimiser = torch.optim.SGD([parameter], lr=1.0)
    schedule = linear_warmup_decay(optimiser, total_steps=20, warmup_share=0.2)
    rates = []
    for _ in range(20):
        rates.append(optimiser.param_groups[0]["lr"])
        optimiser.step()
        schedule.step()
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])  # 4 warm-up steps; the first already trains
    assert rates[4] == pytest.approx(1.0) and rates[-1] == pytest.approx(1 / 16)
    assert all(a >= b for a, b in zip(rates[3:], rates[4:]))
    assert optimiser.param_groups[0]["lr"] == pytest.approx(0.0)
