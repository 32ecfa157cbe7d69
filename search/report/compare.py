"""`search.report --compare RUN RUN ...`: one report over the winners of several searches.

Each run's own report is reused when it was made with the options the comparison asks for
(`--top`, `--epochs`, `--train-on`, `--tta`) and made when the run has none. A run's report made
with other options is refused in one line, before anything trains: reusing it would compare
models made differently, and remaking it would silently replace the report its user asked for.
The models are ranked, and the best named, by validation on the first run's search objective;
test scores are shown, never used to choose.
"""
import json
from dataclasses import asdict
from pathlib import Path

from fer.errors import UserError
from search.report.report_config import ReportConfig
from search.report.files import METRICS_FILE, PER_CLASS_FILE, REPORT_ARGS, REPORT_CONFIG_FILE, write_json
from search.report.leftout import LeftOut

COMPARED_ARGS = ("top", "epochs", "train_on", "tta")  # what a reused report must have been made with


def _options(values: dict, keys) -> str:
    return " ".join(f"--{k.replace('_', '-')} {values.get(k)}" for k in keys)


def existing_report(run: str, options: ReportConfig) -> dict | None:
    """A run's report from an earlier `--run` made with the options asked for; None when the run has
    none; a one-line error when it was made with other options."""
    from search.report.winners import completed_trials
    config, _, _ = completed_trials(run, 1)
    folder = Path(options.reports_dir) / config.project_name
    if not (folder / METRICS_FILE).is_file():
        return None
    meta = json.loads((folder / METRICS_FILE).read_text())
    if Path(meta.get("run", "")).resolve() != Path(run).resolve():
        return None  # another run's report under the same project name: this run has none
    made = json.loads((folder / REPORT_CONFIG_FILE).read_text()) if (folder / REPORT_CONFIG_FILE).is_file() else {}
    differ = [k for k in COMPARED_ARGS if made.get(k) != getattr(options, k)]
    if differ:
        raise UserError(f"{folder}: made with {_options(made, differ)}, but this comparison asks for "
                        f"{_options(asdict(options), differ)}; compare with the same options, or remove {folder} "
                        "to have it made again")
    return meta


def run_reports(runs: list[str], options: ReportConfig, console) -> list[dict]:
    """Each run's metrics.json, reused or made; every run (and its report) is checked before any training."""
    from search.report.run_report import report_run
    from search.report.winners import completed_trials
    for run in runs:
        completed_trials(run, options.top)
    existing = [existing_report(run, options) for run in runs]
    metas = []
    for run, meta in zip(runs, existing):
        if meta is None:
            from search.report.outputs import reporting_run
            with reporting_run(run, options):
                meta = report_run(run, options, console)
        else:
            console.line(f"{run}: using its report {Path(options.reports_dir) / meta['project'] / METRICS_FILE}")
        metas.append(meta)
    return metas


def ranking_objective(runs: list[str]) -> tuple[str, str, str]:
    """(objective, direction, words): the first run's search objective, which ranks every model."""
    from search.project import load_project
    configs = [load_project(Path(run)) for run in runs]
    objective, direction = configs[0].objective, configs[0].direction
    others = sorted({c.objective for c in configs} - {objective})
    words = (f"Ranked by validation {objective} (the first run's search objective"
             f"{'; the others searched on ' + ', '.join(others) if others else ''}).")
    return objective, direction, words


def compared_models(meta: dict, top: int) -> list[dict]:
    """A run's winners in a comparison: its top K retrained models (its ensemble stays in its own report)."""
    from search.report.ensemble import ENSEMBLE
    return [m for m in meta["models"] if m["name"] != ENSEMBLE][:top]


def compare(runs: list[str], options: ReportConfig, console) -> Path:
    """One comparison report over the winners of several runs (reusing their reports if present)."""
    from fer.cache import atomic_dir
    from search.report import page
    from search.report.figures import shared_figures
    from search.report.selection import best_by_validation, ranked_by_validation, selection_words
    from search.report.tables import TABLE_HEADER, per_class_csv, summary_line, table_rows
    metas = run_reports(runs, options, console)
    objective, direction, ranking = ranking_objective(runs)
    models = ranked_by_validation([{**m, "name": f"{meta['project']}/{m['name']}"}
                                   for meta in metas for m in compared_models(meta, options.top)], objective, direction)
    best = best_by_validation(models, objective, direction)
    name = options.out or "compare-" + "-vs-".join(meta["project"] for meta in metas)
    out = Path(options.reports_dir) / name
    rows = table_rows(models)
    with atomic_dir(out) as tmp:
        left_out = LeftOut()
        figs = shared_figures(tmp, models, left_out)
        keys = ("name", "val", "search_objective", "test", "test_without_twins", "params", "seconds", "hyperparameters")
        write_json(tmp / METRICS_FILE, {"runs": runs, "header": TABLE_HEADER, "rows": rows, "best": best["name"],
                                        "best_by": {k: v for k, v in best.items() if k != "name"},
                                        "models": [{k: m.get(k) for k in keys} for m in models],
                                        "figures_left_out": left_out.items})
        (tmp / PER_CLASS_FILE).write_text(per_class_csv(models))
        write_json(tmp / REPORT_CONFIG_FILE, {"compare": runs, **{k: getattr(options, k) for k in REPORT_ARGS}})
        sections = [("Models, best first by validation", page.table(TABLE_HEADER, rows, highlight=0)),
                    ("Charts", page.figures_html(tmp, figs)),
                    ("Runs", page.table(["run", "report", "data", "test images with a twin in train or val"],
                                        [[meta["run"], f"{meta['project']}/index.html", meta["data"],
                                          meta.get("test_twins", "")] for meta in metas]))]
        if left_out.items:
            sections.insert(1, ("Figures left out", page.left_out_list(left_out.items)))
        page.write_index(tmp, f"fer-search comparison: {', '.join(meta['project'] for meta in metas)}",
                         summary_line(models[0], selection_words(best)),
                         f"{ranking} Each model was selected on validation and evaluated once on the test split; "
                         "test scores are shown, never used to choose.", sections)
    console.results(TABLE_HEADER, rows, "comparison, best first by validation")
    console.line(f"comparison report: {out / 'index.html'}")
    return out
