"""The reporter: retrain a search's winners, test them once, write figures and a page.

`python -m search.report` runs `cli.main`. The pieces, in the order a report is made:
`winners` (which trials), `retrain`, `evaluate` (scores, Grad-CAM via `gradcam`), `importance`,
then `tables`, `figures` (drawn by `drawing`) and `page`, assembled by `run_report` or `compare`;
`progress` is what the user sees meanwhile, `files` names what is written.
"""
