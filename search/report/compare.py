"""`search.report --compare RUN RUN ...`: one report over the winners of several searches.

Each run's own report is reused when it covers the winners asked for, and made otherwise.
"""
import json
from pathlib import Path

from search.report.files import METRICS_FILE, PER_CLASS_FILE, REPORT_ARGS, REPORT_CONFIG_FILE, write_json


def existing_report(run: str, args) -> dict | None:
    """A run's report from an earlier `--run`, if it covers the winners asked for."""
    from search.report.winners import completed_trials
    config, _, _ = completed_trials(run, 1)
    path = Path(args.reports_dir) / config.project_name / METRICS_FILE
    if not path.is_file():
        return None
    meta = json.loads(path.read_text())
    same = Path(meta.get("run", "")).resolve() == Path(run).resolve() and len(meta["models"]) >= args.top
    return meta if same and (not args.tta or "test_tta" in meta["models"][0]) else None


def run_reports(runs: list[str], args, console) -> list[dict]:
    """Each run's metrics.json, reused or made; every run is checked before any training."""
    from search.report.run_report import report_run
    from search.report.winners import completed_trials
    for run in runs:
        completed_trials(run, args.top)
    metas = []
    for run in runs:
        meta = existing_report(run, args)
        if meta is None:
            meta = report_run(run, args, console)
        else:
            console.line(f"{run}: using its report {Path(args.reports_dir) / meta['project'] / METRICS_FILE}")
        metas.append(meta)
    return metas


def compare(runs: list[str], args, console) -> Path:
    """One comparison report over the winners of several runs (reusing their reports if present)."""
    from fer.cache import atomic_dir
    from search.report import page
    from search.report.figures import shared_figures
    from search.report.tables import TABLE_HEADER, per_class_csv, summary_line, table_rows
    metas = run_reports(runs, args, console)
    models = [{**m, "name": f"{meta['project']}/{m['name']}"} for meta in metas for m in meta["models"][:args.top]]
    name = args.out or "compare-" + "-vs-".join(meta["project"] for meta in metas)
    out = Path(args.reports_dir) / name
    rows = table_rows(models)
    with atomic_dir(out) as tmp:
        figs = shared_figures(tmp, models)
        write_json(tmp / METRICS_FILE, {"runs": runs, "header": TABLE_HEADER, "rows": rows,
                                        "models": [{k: m[k] for k in ("name", "val", "test", "params", "seconds",
                                                                       "hyperparameters")} for m in models]})
        (tmp / PER_CLASS_FILE).write_text(per_class_csv(models))
        write_json(tmp / REPORT_CONFIG_FILE, {"compare": runs, **{k: getattr(args, k) for k in REPORT_ARGS}})
        best = max(models, key=lambda m: m["test"]["macro_f1"])
        sections = [("Models", page.table(TABLE_HEADER, rows)), ("Charts", page.figures_html(tmp, figs)),
                    ("Runs", page.table(["run", "report", "data"], [[meta["run"], f"{meta['project']}/index.html",
                                                                    meta["data"]] for meta in metas]))]
        page.write_index(tmp, f"fer-search comparison: {', '.join(meta['project'] for meta in metas)}",
                         f"Highest test macro-F1: {best['name']} ({best['test']['macro_f1']:.3f}). " + summary_line(best),
                         "Each model was selected on validation and evaluated once on the test split.", sections)
    console.results(TABLE_HEADER, rows, "comparison on the test split")
    console.line(f"comparison report: {out / 'index.html'}")
    return out
