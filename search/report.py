"""`python -m search.report --run tuner_runs/<project>`: retrain the winners, test them once, report.

The top K trials of a search are retrained from their hyperparameters and saved to
models/<project>/ (.h5, .keras and a JSON of hyperparameters and history). Each is evaluated
once on the test split (PrivateTest) and reports/<project>/ gets metrics.json, per_class.csv,
predictions.npz, the figures and a self-contained index.html. `--compare RUN RUN ...` puts the
winners of several runs into one comparison report.
"""
import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fer.constants import MODELS_DIR, REPORTS_DIR  # noqa: E402
from fer.errors import UserError, report  # noqa: E402
from search.config import CONFIG_FILE, LEADERBOARD_FILE, RunConfig  # noqa: E402

GRADCAM_PER_CLASS = 2
PREDICTIONS_FILE = "predictions.npz"
METRICS_FILE = "metrics.json"
REPORT_ARGS = ("top", "epochs", "train_on", "tta", "data")  # written to report_config.json


def build_parser() -> argparse.ArgumentParser:
    from search.retrain import TRAIN_ON
    p = argparse.ArgumentParser(prog="python -m search.report", description=__doc__.splitlines()[0])
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", help="a search folder, tuner_runs/<project>")
    what.add_argument("--compare", nargs="+", metavar="RUN", help="several search folders: one comparison report")
    p.add_argument("--top", type=int, default=3, help="winners to retrain per run (default 3)")
    p.add_argument("--epochs", type=int, help="epochs at most (default: the search's --max-epochs; "
                                              "with --train-on train+val, the epochs the trial's best took)")
    p.add_argument("--train-on", choices=TRAIN_ON, default="train")
    p.add_argument("--tta", action="store_true", help="also report test-time augmentation (horizontal flip)")
    p.add_argument("--data", help="the prepared data folder (default: the one the search used)")
    p.add_argument("--out", help="--compare: name of the report folder under reports/")
    p.add_argument("--models-dir", default=str(MODELS_DIR), help=argparse.SUPPRESS)
    p.add_argument("--reports-dir", default=str(REPORTS_DIR), help=argparse.SUPPRESS)
    p.add_argument("--plain", action="store_true", help="plain lines instead of progress bars")
    return p


def check_run(run: str, top: int) -> tuple[RunConfig, list[dict], list[dict]]:
    """The run's config, its leaderboard rows and its completed trials best first; or a one-line error."""
    from search.leaderboard import read_csv
    folder = Path(run)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder")
    if not (folder / CONFIG_FILE).is_file():
        raise UserError(f"{folder}: not a search folder (no {CONFIG_FILE}); give tuner_runs/<project>")
    config = RunConfig.load(folder)
    config.runs_dir = str(folder.parent)  # the folder may have moved since the search
    rows = read_csv(folder) if (folder / LEADERBOARD_FILE).is_file() else []
    done = [r for r in rows if r["status"] == "COMPLETED" and r["objective"] != ""]
    if not done:
        raise UserError(f"{folder / LEADERBOARD_FILE}: no completed trial to report on")
    if top < 1 or top > len(done):
        raise UserError(f"--top {top}: {folder} has {len(done)} completed trial{'s' * (len(done) != 1)}")
    done.sort(key=lambda r: float(r["objective"]), reverse=config.direction == "max")
    return config, rows, done


def evaluate(model, data: dict, batch: int, tta: bool) -> dict:
    """Validation scores, and test-split probabilities (plain and flip-averaged)."""
    from fer.metrics import class_report
    xv, yv = data["val"]
    scores = model.evaluate(xv, yv, batch_size=batch, verbose=0, return_dict=True)
    xt, yt = data["test"]
    out = {"val": {"loss": float(scores["loss"]), "accuracy": float(scores["accuracy"]),
                   "macro_f1": float(scores.get("macro_f1", 0.0))}}
    out["probs"] = model.predict(xt, batch_size=batch, verbose=0).astype("float32")
    out["test"] = class_report(yt, out["probs"].argmax(axis=1))
    if tta:
        flipped = model.predict(xt[:, :, ::-1], batch_size=batch, verbose=0).astype("float32")
        out["probs_tta"] = (out["probs"] + flipped) / 2
        out["test_tta"] = class_report(yt, out["probs_tta"].argmax(axis=1))
    return out


def gradcam_maps(model, x, y, seed: int) -> dict | None:
    from fer.gradcam import gradcam
    from search.report_writer import sample_per_class
    index = sample_per_class(y, GRADCAM_PER_CLASS, seed)
    try:
        pred = model.predict(x[index], verbose=0).argmax(axis=1)
        return {"index": index, "maps": gradcam(model, x[index], pred)}
    except (NotImplementedError, ValueError) as e:
        print(f"note: no Grad-CAM figure: {e}", file=sys.stderr)
        return None


def report_run(run: str, args, console) -> dict:
    """Retrain, test and write reports/<project>/; returns what metrics.json holds."""
    import keras
    import numpy as np

    from fer.cache import atomic_dir
    from search import memory
    from search import report_writer as w
    from search.console import hp_text
    from search.importance import importance, typed_rows, varied
    from search.leaderboard import hp_columns
    from search.retrain import retrain
    from search.run import open_search_data

    config, rows, done = check_run(run, args.top)
    best = done[:args.top]
    ds = open_search_data(config, args.data, "pass --data with the folder the search used")
    data = {s: tuple(np.asarray(a) for a in ds.split(s)) for s in ("train", "val", "test")}
    keras.mixed_precision.set_global_policy(config.resolved.get("precision", {}).get("policy", "float32"))
    project = config.project_name
    models, probs, cams = [], {}, {}
    for rank, row in enumerate(best, start=1):
        label = f"rank {rank}/{len(best)} (trial {row['trial_id']})"
        console.model_begin(label, args.epochs or config.max_epochs)
        mark = memory.mark()
        winner, model = retrain(config, row["trial_id"], rank, data, Path(args.models_dir) / project,
                                epochs=args.epochs, train_on=args.train_on, on_epoch=console.epoch)
        result = evaluate(model, data, config.batch_size, args.tta)
        entry = {**asdict(winner), "val": result["val"], "test": result["test"]}
        if args.tta:
            entry["test_tta"] = result["test_tta"]
            probs[f"probs_tta_{winner.name}"] = result["probs_tta"]
        probs[f"probs_{winner.name}"] = result["probs"]
        cams[winner.name] = gradcam_maps(model, data["test"][0], data["test"][1], config.seed)
        models.append(entry)
        console.model_end(f"{winner.name}: test accuracy {entry['test']['accuracy']:.4f}, macro-F1 "
                          f"{entry['test']['macro_f1']:.4f} ({winner.epochs} epochs, {winner.seconds:.0f} s)")
        del model
        memory.release(mark)  # each winner's weights go before the next one trains
    hps = hp_columns(done)
    trials = typed_rows(done, hps)
    weights = importance(trials, hps, seed=config.seed)
    meta = {"project": project, "run": str(config.project_dir), "data": str(ds.path), "data_is_demo": ds.is_demo,
            "evaluated_on": "test", "train_on": args.train_on, "tta": args.tta, "best": models[0]["name"],
            "summary": w.summary_line(models[0]), "importance": weights, "importance_trials": len(done),
            "models": models}
    out = Path(args.reports_dir) / project
    with atomic_dir(out) as tmp:
        w.write_json(tmp / METRICS_FILE, meta)
        (tmp / "per_class.csv").write_text(w.per_class_csv(models))
        np.savez(tmp / PREDICTIONS_FILE, y_true=data["test"][1], **probs)
        w.write_json(tmp / "report_config.json", {"run": run, "search_config": str(config.project_dir / CONFIG_FILE),
                                                  **{k: getattr(args, k) for k in REPORT_ARGS}})
        figs = w.shared_figures(tmp, models)
        plot_hps = varied(trials, hps)
        if plot_hps:
            from fer.report_plots import grouped_bars, hp_scatter
            hp_scatter(tmp / "objective_vs_hp.png", trials, plot_hps, config.objective)
            figs.append(("objective_vs_hp.png", f"{config.objective} of each completed trial against each hyperparameter"))
            if weights:
                grouped_bars(tmp / "importance.png", list(weights), {"importance": list(weights.values())},
                             "share", f"hyperparameter importance (random forest over {len(done)} trials)")
                figs.append(("importance.png", "Which hyperparameters mattered (random-forest estimate)"))
        sections = [("Results on the test split", w.page.table(w.TABLE_HEADER, w.table_rows(models), True)),
                    ("Comparison", w.figures_html(tmp, figs[:2]))]
        for m in models:
            figures = w.model_figures(tmp, m, data["test"][0], data["test"][1], probs[f"probs_{m['name']}"],
                                      cams[m["name"]], config.seed)
            tta = f" With flip TTA: accuracy {m['test_tta']['accuracy']:.4f}, macro-F1 {m['test_tta']['macro_f1']:.4f}." \
                if "test_tta" in m else ""
            sections.append((m["name"], f"<p>Hyperparameters: {w.page.esc(hp_text(m['hyperparameters']))}. Trained "
                             f"{m['epochs']} epochs (best {m['best_epoch']}) in {m['seconds']:.0f} s.{w.page.esc(tta)}</p>"
                             + w.figures_html(tmp, figures)))
        importance_text = ("<p>Too few completed trials for an importance estimate.</p>" if not weights else
                           w.page.table(["hyperparameter", "importance"], [[k, f"{v:.3f}"] for k, v in weights.items()]))
        sections.append(("Which hyperparameters mattered", importance_text + w.figures_html(tmp, figs[2:])))
        board_cols = ["trial_id", "status", "objective", "val_accuracy", "val_macro_f1", "epochs", "seconds"] + hps
        sections.append(("Search leaderboard", w.page.table(board_cols, [[r.get(c, "") for c in board_cols]
                                                                          for r in rows])))
        sections.append(("Configuration of the search", w.page.config_block(
            json.loads((config.project_dir / CONFIG_FILE).read_text()))))
        note = (f"Data: {ds.path}{' (demo data, not FER-2013)' if ds.is_demo else ''}. Models trained on "
                f"{args.train_on}, selected on validation, evaluated once on the test split.")
        w.write_index(tmp, f"fer-search report: {project}", meta["summary"], note, sections)
    console.results(w.TABLE_HEADER, w.table_rows(models), f"{project}: winners on the test split")
    console.line(meta["summary"])
    console.line(f"report: {out / 'index.html'}   models: {Path(args.models_dir) / project}/")
    return meta


def existing_report(run: str, args) -> dict | None:
    """A run's report from an earlier `--run`, if it covers the winners asked for."""
    config, _, _ = check_run(run, 1)
    path = Path(args.reports_dir) / config.project_name / METRICS_FILE
    if not path.is_file():
        return None
    meta = json.loads(path.read_text())
    same = Path(meta.get("run", "")).resolve() == Path(run).resolve() and len(meta["models"]) >= args.top
    return meta if same and (not args.tta or "test_tta" in meta["models"][0]) else None


def compare(runs: list[str], args, console) -> Path:
    """One comparison report over the winners of several runs (reusing their reports if present)."""
    from fer.cache import atomic_dir
    from search import report_writer as w
    metas = []
    for run in runs:
        check_run(run, args.top)  # all errors before any training
    for run in runs:
        meta = existing_report(run, args)
        if meta is None:
            meta = report_run(run, args, console)
        else:
            console.line(f"{run}: using its report {Path(args.reports_dir) / meta['project'] / METRICS_FILE}")
        metas.append(meta)
    models = [{**m, "name": f"{meta['project']}/{m['name']}"} for meta in metas for m in meta["models"][:args.top]]
    name = args.out or "compare-" + "-vs-".join(meta["project"] for meta in metas)
    out = Path(args.reports_dir) / name
    with atomic_dir(out) as tmp:
        figs = w.shared_figures(tmp, models)
        rows = w.table_rows(models)
        w.write_json(tmp / METRICS_FILE, {"runs": runs, "header": w.TABLE_HEADER, "rows": rows,
                                          "models": [{k: m[k] for k in ("name", "val", "test", "params", "seconds",
                                                                         "hyperparameters")} for m in models]})
        (tmp / "per_class.csv").write_text(w.per_class_csv(models))
        w.write_json(tmp / "report_config.json", {"compare": runs, **{k: getattr(args, k) for k in REPORT_ARGS}})
        best = max(models, key=lambda m: m["test"]["macro_f1"])
        sections = [("Models", w.page.table(w.TABLE_HEADER, rows)), ("Charts", w.figures_html(tmp, figs)),
                    ("Runs", w.page.table(["run", "report", "data"], [[meta["run"], f"{meta['project']}/index.html",
                                                                      meta["data"]] for meta in metas]))]
        w.write_index(tmp, f"fer-search comparison: {', '.join(meta['project'] for meta in metas)}",
                      f"Highest test macro-F1: {best['name']} ({best['test']['macro_f1']:.3f}). " + w.summary_line(best),
                      "Each model was selected on validation and evaluated once on the test split.", sections)
    console.results(w.TABLE_HEADER, rows, "comparison on the test split")
    console.line(f"comparison report: {out / 'index.html'}")
    return out


def main(argv=None) -> int:
    from search.report_console import ReportConsole
    parser = build_parser()
    args = parser.parse_args(argv)
    console = ReportConsole(plain=True if args.plain else None)
    try:
        if args.epochs is not None and args.epochs < 1:
            raise UserError(f"--epochs must be at least 1, got {args.epochs}")
        if args.compare:
            compare(args.compare, args, console)
        else:
            report_run(args.run, args, console)
        return 0
    except UserError as e:
        console.stop()
        return report(e, parser.prog)
    except KeyboardInterrupt:
        console.stop()
        print("interrupted; nothing was written to reports/", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
