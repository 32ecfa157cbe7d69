"""Score a retrained model: validation scores, test probabilities (plain and flip-averaged), Grad-CAM."""
import sys

from search.report.figures import sample_per_class

GRADCAM_PER_CLASS = 2


def evaluate(model, data: dict, batch: int, tta: str | None, crop: int | None = None) -> dict:
    """Validation scores and probabilities, test probabilities (plain, and with `tta` when given:
    flip or ten-crop), and the inference time per image."""
    from fer.metrics import class_report
    from fer.tta import DEFAULT_CROP, predict_tta
    from search.report.inference import inference_ms
    xv, yv = data["val"]
    scores = model.evaluate(xv, yv, batch_size=batch, verbose=0, return_dict=True)
    xt, yt = data["test"]
    out = {"val": {"loss": float(scores["loss"]), "accuracy": float(scores["accuracy"]),
                   "macro_f1": float(scores.get("macro_f1", 0.0))}}
    predict = lambda x: model.predict(x, batch_size=batch, verbose=0)  # noqa: E731
    out["val_probs"] = predict(xv).astype("float32")
    out["probs"] = predict(xt).astype("float32")
    out["test"] = class_report(yt, out["probs"].argmax(axis=1))
    if tta:
        out["probs_tta"] = predict_tta(predict, xt, tta, crop or DEFAULT_CROP)
        out["test_tta"] = class_report(yt, out["probs_tta"].argmax(axis=1))
    out["inference_ms"] = inference_ms(model, xt)
    return out


def gradcam_maps(model, x, y, seed: int) -> dict | None:
    """Grad-CAM of a few test faces per class; None (with the reason printed) where it cannot be had."""
    from search.report.gradcam import gradcam
    index = sample_per_class(y, GRADCAM_PER_CLASS, seed)
    try:
        pred = model.predict(x[index], verbose=0).argmax(axis=1)
        return {"index": index, "maps": gradcam(model, x[index], pred)}
    except (NotImplementedError, ValueError) as e:
        print(f"note: no Grad-CAM figure: {e}", file=sys.stderr)
        return None
