"""The three next-item losses of the shared training loop (ce, sampled softmax, gBCE) all learn."""

import numpy as np
import pytest
import torch

from shoplens.recommend import SASRec
from shoplens.recommend.train import LOSSES, next_item_loss

N_ITEMS = 200


def jump_sequences(n_users=N_ITEMS, length=8):
    """User u walks u, u+7, u+14, ... (mod N_ITEMS): the next item follows from the last one, and the
    catalogue is large next to the 16 negatives. Every item is trained (an item never seen in training
    scores exactly 0, which a BCE-trained model ranks above everything)."""
    return [np.array([(u + 7 * j) % N_ITEMS for j in range(length)], dtype=np.int64) for u in range(n_users)]


@pytest.fixture(scope="module")
def sequences():
    torch.set_num_threads(2)
    return jump_sequences()


@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_overfits_tiny_data_far_above_random(sequences, loss):
    model = SASRec(dim=32, n_blocks=1, dropout=0.0, lr=5e-3, batch_size=16, max_epochs=30, loss=loss,
                   n_negatives=16, seed=0).fit([s[:-1] for s in sequences], N_ITEMS)
    scores = model.score([s[:-1] for s in sequences])
    hr10 = np.mean([t in np.argsort(-row)[:10] for row, t in zip(scores, [s[-1] for s in sequences])])
    assert hr10 >= 0.8, f"{loss}: HR@10 {hr10:.2f} (random: {10 / N_ITEMS:.3f})"


@pytest.mark.parametrize("loss", ["sampled", "gbce"])
def test_negatives_are_drawn_per_position(loss):
    """Two identical positions must see different negatives: one draw shared by a whole batch makes
    the negative gradient the same random vector everywhere, and gBCE then does not learn."""
    torch.manual_seed(0)
    item_matrix = torch.randn(1000, 8)
    hidden = torch.randn(1, 1, 8).repeat(1, 2, 1).requires_grad_()
    next_item_loss(hidden, torch.tensor([[3, 3]]), item_matrix, loss, n_negatives=4,
                   generator=torch.Generator().manual_seed(0)).backward()
    assert not torch.allclose(hidden.grad[0, 0], hidden.grad[0, 1])


def test_gbce_matches_its_formula_and_masks_accidental_hits():
    torch.manual_seed(0)
    n_items, k, t = 50, 10, 0.75
    item_matrix, h = torch.randn(n_items, 4), torch.randn(1, 1, 4)
    gen = torch.Generator().manual_seed(1)
    negatives = torch.randint(0, n_items, (1, k), generator=torch.Generator().manual_seed(1))[0]
    target = int(negatives[0])  # the first negative is an accidental hit
    value = next_item_loss(h, torch.tensor([[target]]), item_matrix, "gbce", k, t, gen)
    alpha = k / (n_items - 1)
    beta = alpha * (t * (1 - 1 / alpha) + 1 / alpha)
    s = item_matrix @ h[0, 0]
    expected = -beta * torch.nn.functional.logsigmoid(s[target])
    expected = expected - sum(torch.nn.functional.logsigmoid(-s[j]) for j in negatives.tolist() if j != target)
    assert value.item() == pytest.approx(expected.item(), abs=1e-4)
