"""Score a retrained model: validation scores, test probabilities (plain and flip-averaged), Grad-CAM."""
from search.report.figures import sample_per_class

GRADCAM_PER_CLASS = 2


def evaluate(model, data: dict, batch: int, tta: str | None, crop: int | None = None,
             held_out_val: bool = True) -> dict:
    """Validation scores and probabilities (none when the model trained on the validation split:
    `held_out_val` False), test probabilities (plain, and with `tta` when given: flip or ten-crop),
    and the inference time per image."""
    from fer.metrics import class_report
    from fer.tta import predict_tta
    from search.report.latency import inference_ms
    from search.report.selection import unmeasured_val
    predict = lambda x: model.predict(x, batch_size=batch, verbose=0)  # noqa: E731
    out = {"val": unmeasured_val()}
    if held_out_val:
        xv, yv = data["val"]
        scores = model.evaluate(xv, yv, batch_size=batch, verbose=0, return_dict=True)
        out["val"] = {"loss": float(scores["loss"]), "accuracy": float(scores["accuracy"]),
                      "macro_f1": float(scores.get("macro_f1", 0.0))}
        out["val_probs"] = predict(xv).astype("float32")
    xt, yt = data["test"]
    out["probs"] = predict(xt).astype("float32")
    out["test"] = class_report(yt, out["probs"].argmax(axis=1))
    if tta:
        out["probs_tta"] = predict_tta(predict, xt, tta, model_crop=crop)
        out["test_tta"] = class_report(yt, out["probs_tta"].argmax(axis=1))
    out["inference_ms"] = inference_ms(model, xt)
    return out


def gradcam_maps(model, x, y, seed: int, crop: int | None = None) -> dict:
    """Grad-CAM of a few test faces per class: {"index", "maps", "layer"}, or {"reason"} why there are
    none; `crop` as in `evaluate`. Whatever goes wrong costs this figure only, never the report."""
    from search.report.gradcam import feature_path, gradcam
    index = sample_per_class(y, GRADCAM_PER_CLASS, seed)
    try:
        pred = model.predict(x[index], verbose=0).argmax(axis=1)
        return {"index": index, "maps": gradcam(model, x[index], pred, crop), "layer": "/".join(feature_path(model))}
    except Exception as e:  # noqa: BLE001 - see the docstring
        return {"reason": f"Grad-CAM failed: {type(e).__name__}: {e}"}
