import json

import numpy as np

from fer.audit import audit_arrays, main as audit_main
from fer.constants import DEMO_NOTICE, SPLITS
from fer.dataset import Dataset
from fer.demo import make_demo
from fer.prepare import ensure_demo, main


def test_demo_is_deterministic_and_covers_all_classes():
    a, b, c = make_demo(1, {"train": 140, "val": 70, "test": 70}), make_demo(1, {"train": 140, "val": 70, "test": 70}), \
        make_demo(2, {"train": 140, "val": 70, "test": 70})
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    assert a.x.shape[1:] == (48, 48, 1) and a.x.dtype == np.uint8
    for s in SPLITS:
        assert set(np.unique(a.y[a.split == s])) == set(range(7))
    # faces have structure: not flat, not saturated noise
    assert 20 < a.x.std() < 90


def test_demo_classes_are_learnable_but_not_trivial():
    """A linear model on the pixels beats the majority class by far, yet is not perfect."""
    import warnings

    from sklearn.linear_model import LogisticRegression
    d = make_demo(0, {"train": 1400, "val": 7, "test": 700})
    feats = lambda x: x[:, ::2, ::2, 0].reshape(len(x), -1) / 255.0  # noqa: E731
    train, test = d.split == "train", d.split == "test"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(max_iter=200).fit(feats(d.x[train]), d.y[train])
    acc = model.score(feats(d.x[test]), d.y[test])
    majority = np.bincount(d.y[test]).max() / test.sum()
    assert majority < 0.3 and 0.5 < acc < 0.98


def test_prepare_demo_says_it_is_synthetic(workdir, capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "not FER-2013" in out
    ds = Dataset.open("data/demo")
    assert ds.is_demo and ds.meta["source"]["notice"] == DEMO_NOTICE
    assert sum(ds.meta["counts"].values()) == 3400
    assert ensure_demo() == workdir / "data/demo" or ensure_demo().resolve() == (workdir / "data/demo").resolve()


def test_audit_finds_planted_duplicates_conflicts_and_blanks():
    rng = np.random.default_rng(0)
    x = {s: rng.integers(0, 256, size=(10, 48, 48, 1), dtype=np.uint8) for s in SPLITS}
    y = {s: np.arange(10) % 7 for s in SPLITS}
    x["val"][0] = x["train"][0]                       # cross-split, same label
    y["val"][0] = y["train"][0]
    x["test"][1] = x["train"][2]                      # cross-split, conflicting label
    y["test"][1] = (y["train"][2] + 1) % 7
    x["train"][5] = x["train"][6]                     # within split, conflicting label
    x["test"][7] = 0                                  # blank
    s = audit_arrays({k: (x[k], y[k]) for k in SPLITS})
    assert (s["duplicate_groups"], s["cross_split_groups"], s["within_split_groups"]) == (3, 2, 1)
    assert s["conflicting_label_groups"] == 2 and s["blank_images"] == 1
    assert s["details"]["blank"][0] == {"split": "test", "index": 7, "label": "angry", "value": 0}


def test_audit_cli_writes_json(workdir, capsys):
    assert main(["demo"]) == 0
    assert audit_main(["data/demo"]) == 0
    saved = json.loads((workdir / "data/demo/audit.json").read_text())
    assert saved["images"] == 3400 and "duplicate groups" in capsys.readouterr().out
