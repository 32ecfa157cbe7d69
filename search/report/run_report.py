"""One search's report: retrain its top K trials, test each once, write reports/<project>/.

Read top to bottom: pick the winners, open the data the search used, retrain and score each
winner (also on the test images without a twin in train or val), name the best by validation,
estimate which hyperparameters mattered, then write the folder (atomically) and say where it is.
"""
import json
import time
from dataclasses import asdict
from pathlib import Path

from search.config import CONFIG_FILE
from search.report.report_config import ReportConfig
from search.report.files import METRICS_FILE, PER_CLASS_FILE, PREDICTIONS_FILE, REPORT_ARGS, REPORT_CONFIG_FILE
from search.report.leftout import LeftOut

TRAINED_ON_VAL_NOTE = ("Trained on train+val: the validation split is training data, so its columns are left "
                       "empty ('trained on val') and the best is chosen by the search's validation score.")


def report_run(run: str, options: ReportConfig, console) -> dict:
    """Retrain, test and write reports/<project>/; returns what metrics.json holds."""
    import keras
    import numpy as np

    from search.project import open_search_data, retraining_precision
    from search.report.compat import check_trials_fit_space
    from search.report.twins import scores_without_twins, twin_mask, twins_sentence
    from search.report.winners import completed_trials

    started = time.time()  # what --time-budget counts from
    config, rows, done = completed_trials(run, options.top)
    check_trials_fit_space(config, done[:options.top])
    ds = open_search_data(config, options.data, "pass --data with the folder the search used")
    data = {s: tuple(np.asarray(a) for a in ds.split(s)) for s in ("train", "val", "test")}
    twins = twin_mask(data)
    keras.mixed_precision.set_global_policy(retraining_precision(config, options.precision))
    from search.report.report_budget import report_budget
    options, budget = report_budget(config, done[:options.top], data, options, console, started)
    models, probs, cams = retrain_winners(config, done[:options.top], data, options, console, budget)
    for m in models:
        m["test_without_twins"] = scores_without_twins(data["test"][1], probs[f"probs_{m['name']}"], twins)
    meta = report_meta(config, ds, done, models, options, twins)
    out = Path(options.reports_dir) / config.project_name
    meta["wall_seconds"] = {"data_retraining_and_scoring": round(time.time() - started, 1)}
    write_report(out, run, config, rows, done, meta, data, probs, cams, options)
    from search.report.tables import TABLE_HEADER, table_rows
    console.results(TABLE_HEADER, table_rows(models), f"{config.project_name}: winners on the test split")
    console.line(twins_sentence(meta["test_twins"], meta["test_images"]))
    console.line(meta["summary"])
    console.line(f"report: {out / 'index.html'}   models: {Path(options.models_dir) / config.project_name}/")
    if options.export:
        from search.report.export import export_best
        paths = export_best(meta, options.models_dir, options.export)
        console.line("exported the best model: " + ", ".join(map(str, paths)))
    return meta


def retrain_winners(config, best: list[dict], data: dict, options: ReportConfig, console,
                    budget=None) -> tuple[list, dict, dict]:
    """Retrain and score each winner in turn, then the ensemble of them all; returns their records,
    test probabilities (plain and TTA) and Grad-CAMs. `budget`: the retraining's TimeBudget
    (search.report.report_budget), shared out as it goes."""
    from search import tf_memory
    from search.report.ensemble import ENSEMBLE, ensemble_entry, save_ensemble_model
    from search.report.evaluate import evaluate, gradcam_maps
    from search.report.retrain import retrain
    models, results, probs, cams = [], [], {}, {}
    for rank, row in enumerate(best, start=1):
        console.model_begin(f"rank {rank}/{len(best)} (trial {row['trial_id']})", options.epochs or config.max_epochs)
        mark = tf_memory.mark()
        winner, model = retrain(config, row["trial_id"], rank, data, Path(options.models_dir) / config.project_name,
                                overrides=options.retrain_fix,
                                epochs=options.epochs, train_on=options.train_on, on_epoch=console.epoch,
                                budget=budget.share(len(best) - rank + 1) if budget else None)
        crop = trained_crop(winner.hyperparameters, data)
        result = evaluate(model, data, config.batch_size, options.tta, crop, held_out_val=options.train_on == "train")
        entry = {**asdict(winner), "val": result["val"], "test": result["test"], "inference_ms": result["inference_ms"]}
        if options.tta:
            entry["test_tta"] = result["test_tta"]
        keep_probs(probs, winner.name, result)
        cams[winner.name] = gradcam_maps(model, data["test"][0], data["test"][1], config.seed, crop)
        entry["gradcam_layer"] = cams[winner.name].get("layer")  # the feature map Grad-CAM explained
        models.append(entry)
        results.append(result)
        console.model_end(f"{winner.name}: test accuracy {entry['test']['accuracy']:.4f}, macro-F1 "
                          f"{entry['test']['macro_f1']:.4f} ({winner.epochs} epochs, {winner.seconds:.0f} s"
                          f"{', cut by the time budget' if winner.cut_by_budget else ''})")
        del model
        tf_memory.release(mark)  # each winner's weights go before the next one trains
    if len(models) > 1:
        entry, result = ensemble_entry(models, results, data["val"][1], data["test"][1])
        entry["paths"] = save_ensemble_model(models, Path(options.models_dir) / config.project_name)
        keep_probs(probs, ENSEMBLE, result)
        cams[ENSEMBLE] = {"not_applicable": True}  # it averages several models: no one feature map to explain
        models.append(entry)
    return models, probs, cams


def trained_crop(values: dict, data: dict) -> int | None:
    """The crop size a winner trained on, when it cropped (its model cuts its own centre window)."""
    crop = values.get("crop_size")
    return int(crop) if crop and int(crop) < data["test"][0].shape[1] else None


def keep_probs(probs: dict, name: str, result: dict) -> None:
    """What predictions.npz keeps of a model: its test probabilities, plain and with TTA."""
    probs[f"probs_{name}"] = result["probs"]
    if "probs_tta" in result:
        probs[f"probs_tta_{name}"] = result["probs_tta"]


def report_meta(config, ds, done: list[dict], models: list[dict], options, twins) -> dict:
    """What metrics.json holds: the report's facts, the best model by validation, the importance
    estimate, the test images with a twin in train or val, and every model's scores."""
    from search.leaderboard import hp_columns
    from search.report.importance import importance, typed_rows
    from search.report.selection import best_by_validation, selection_words
    from search.report.tables import summary_line
    hps = hp_columns(done)
    weights = importance(typed_rows(done, hps), hps, seed=config.seed)
    best = best_by_validation(models, config.objective, config.direction)
    best_model = next(m for m in models if m["name"] == best["name"])
    return {"project": config.project_name, "run": str(config.project_dir), "data": str(ds.path),
            "data_is_demo": ds.is_demo, "evaluated_on": "test", "train_on": options.train_on, "tta": options.tta,
            "best": best["name"], "best_by": {k: v for k, v in best.items() if k != "name"},
            "summary": summary_line(best_model, selection_words(best)), "importance": weights,
            "importance_trials": len(done), "test_images": len(twins), "test_twins": int(twins.sum()),
            "models": models}


def write_report(out: Path, run: str, config, rows, done, meta: dict, data: dict, probs: dict, cams: dict,
                 options) -> None:
    """The report folder, written under a temporary name and renamed when complete."""
    import numpy as np

    from fer.cache import atomic_dir
    from search.report.files import write_json
    from search.report.tables import per_class_csv
    with atomic_dir(out) as tmp:
        (tmp / PER_CLASS_FILE).write_text(per_class_csv(meta["models"]))
        np.savez(tmp / PREDICTIONS_FILE, y_true=data["test"][1], **probs)
        write_json(tmp / REPORT_CONFIG_FILE, {"run": run, "search_config": str(config.project_dir / CONFIG_FILE),
                                              **{k: getattr(options, k) for k in REPORT_ARGS}})
        left_out = LeftOut()
        started = time.time()
        sections = page_sections(tmp, config, rows, done, meta, data, probs, cams, left_out)
        meta.setdefault("wall_seconds", {})["figures"] = round(time.time() - started, 1)
        meta["figures_left_out"] = left_out.items
        write_json(tmp / METRICS_FILE, meta)
        from search.report.page import write_index
        write_index(tmp, f"fer-search report: {config.project_name}", meta["summary"], page_note(meta), sections)


def page_note(meta: dict) -> str:
    """The line under the summary: the data, how models were trained and chosen, the test split's twins."""
    from search.report.twins import twins_sentence
    parts = [f"Data: {meta['data']}{' (demo data, not FER-2013)' if meta['data_is_demo'] else ''}.",
             f"Models trained on {meta['train_on']}, the best chosen on validation, each evaluated once on the "
             "test split.", twins_sentence(meta["test_twins"], meta["test_images"])]
    if meta["train_on"] == "train+val":
        parts.append(TRAINED_ON_VAL_NOTE)
    return " ".join(parts)


def page_sections(tmp: Path, config, rows, done, meta: dict, data: dict, probs: dict, cams: dict,
                  left_out: LeftOut) -> list:
    """index.html's sections, top to bottom, drawing each figure into `tmp` on the way (those that
    cannot be drawn are listed, with their reasons, under "Figures left out")."""
    from search.console import hp_text
    from search.leaderboard import hp_columns
    from search.report import page
    from search.report.ensemble import ENSEMBLE
    from search.report.figures import hp_figures, model_figures, shared_figures
    from search.report.importance import typed_rows, varied
    from search.report.tables import TABLE_HEADER, table_rows
    models, weights = meta["models"], meta["importance"]
    hps = hp_columns(done)
    trials = typed_rows(done, hps)
    shared = shared_figures(tmp, models, left_out)
    best = next(i for i, m in enumerate(models) if m["name"] == meta["best"])
    sections = [("Results on the test split", page.table(TABLE_HEADER, table_rows(models), highlight=best)),
                ("Comparison", page.figures_html(tmp, shared))]
    for m in models:
        figures = model_figures(tmp, m, data["test"][0], data["test"][1], probs[f"probs_{m['name']}"],
                                cams[m["name"]], config.seed, left_out)
        tta = (f" With {meta['tta']} TTA: accuracy {m['test_tta']['accuracy']:.4f}, macro-F1 "
               f"{m['test_tta']['macro_f1']:.4f}." if "test_tta" in m else "")
        what = (f"The mean of the probabilities of {', '.join(m['members'])}." if m["name"] == ENSEMBLE else
                f"Hyperparameters: {hp_text(m['hyperparameters'])}. Trained {m['epochs']} epochs (best "
                f"{m['best_epoch']}) in {m['seconds']:.0f} s{' (cut by the time budget)' if m['cut_by_budget'] else ''}.")
        sections.append((m["name"], f"<p>{page.esc(what + tta)}</p>" + page.figures_html(tmp, figures)))
    importance_text = ("<p>Too few completed trials for an importance estimate.</p>" if not weights else
                       page.table(["hyperparameter", "importance"], [[k, f"{v:.3f}"] for k, v in weights.items()]))
    hp_figs = hp_figures(tmp, trials, varied(trials, hps), weights, config.objective, left_out)
    sections.append(("Which hyperparameters mattered", importance_text + page.figures_html(tmp, hp_figs)))
    board_cols = ["trial_id", "status", "objective", "val_accuracy", "val_macro_f1", "epochs", "seconds"] + hps
    sections.append(("Search leaderboard", page.table(board_cols, [[r.get(c, "") for c in board_cols] for r in rows])))
    sections.append(("Configuration of the search", page.config_block(
        json.loads((config.project_dir / CONFIG_FILE).read_text()))))
    if left_out.items:
        sections.insert(1, ("Figures left out", page.left_out_list(left_out.items)))
    return sections
