"""Ad click-through prediction (LR, FM, DeepFM, DCN-v2, DIN; the click-rate prior), calibration and targeting.

    from shoplens.ads import DeepFM
    model = DeepFM(seed=0).fit(train, eval_set=valid)     # DataFrames of impressions with a `clicked` column
    model.calibrate(valid).predict_ctr(test)
"""

from shoplens.ads.base import CTRModelBase
from shoplens.ads.calibration import expected_calibration_error
from shoplens.ads.dcnv2 import DCNv2
from shoplens.ads.deepfm import DeepFM
from shoplens.ads.din import DIN
from shoplens.ads.fm import FM
from shoplens.ads.lr import LogisticRegression
from shoplens.ads.prior import ClickRatePrior

MODELS = {"lr": LogisticRegression, "fm": FM, "deepfm": DeepFM, "dcnv2": DCNv2, "din": DIN}
FALLBACKS = {"prior": ClickRatePrior}  # stored by fit_ctr when the log cannot support a learnt model


def load_model(path) -> CTRModelBase:
    """Load any saved CTR model (the class is read from its config.json)."""
    return CTRModelBase.load(path)


__all__ = ["FALLBACKS", "MODELS", "CTRModelBase", "ClickRatePrior", "DCNv2", "DIN", "DeepFM", "FM", "LogisticRegression", "expected_calibration_error",
           "load_model"]
