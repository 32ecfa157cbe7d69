"""The planner's split of one budget (search.planner), in cases computed by hand."""
import pytest

from fer.errors import UserError
from search.planner import Pace, affordable_tta, evaluation_seconds, plan_pipeline

SMALL = Pace(epoch_seconds=10, image_seconds=0.001, n_val=100, n_test=100, model_seconds=5, shared_seconds=0)
FER_SLOW = Pace(epoch_seconds=168, image_seconds=0.002, n_val=3589, n_test=3589, model_seconds=20, shared_seconds=15)  # 2.8 min an epoch


def test_evaluation_counts_validation_test_and_tta_passes():
    # (2 x 100 validation + 100 x (1 + 10) test) passes x 1 ms + 5 s per model; two models
    assert evaluation_seconds(SMALL, "ten-crop", 2) == pytest.approx(2 * (1.3 + 5))
    assert evaluation_seconds(SMALL, None, 1) == pytest.approx(0.3 + 5)


def test_a_fast_pace_caps_the_final_training_and_searches_the_rest():
    plan = plan_pipeline(1000, SMALL, trial_epochs=1, max_trials=20, top=1, final_epochs_cap=40, tta="ten-crop")
    # usable 980 s; ten-crop costs 6.3 s; 97.37 epochs: search at least 20% (19.47), the final 40, one winner
    assert (plan.tta, plan.winners, plan.final_epochs, plan.trials) == ("ten-crop", 1, 40, 20)
    assert plan.final_seconds == pytest.approx(400)
    assert plan.search_seconds == pytest.approx(980 - 6.3 - 400)


def test_two_final_trainings_that_fit_make_an_ensemble():
    plan = plan_pipeline(1000, SMALL, trial_epochs=1, max_trials=20, top=2, final_epochs_cap=30, tta="ten-crop")
    # evaluation 2 x 6.3 s; 96.74 epochs, 77.27 after the search's share: two winners of 30
    assert (plan.winners, plan.final_epochs) == (2, 30)
    assert plan.evaluation_seconds == pytest.approx(12.6)
    assert plan.search_seconds == pytest.approx(980 - 12.6 - 600)
    plan = plan_pipeline(1000, SMALL, trial_epochs=1, max_trials=20, top=3, final_epochs_cap=40, tta="ten-crop")
    # three winners leave 76.64 epochs: 25 each, over half the cap of 40
    assert (plan.winners, plan.final_epochs) == (3, 25)
    assert plan.search_seconds == pytest.approx(980 - 18.9 - 750)


def test_a_slow_pace_spends_nearly_everything_on_one_final_training():
    plan = plan_pipeline(7200, FER_SLOW, trial_epochs=2, max_trials=None, top=2, final_epochs_cap=100,
                         tta="ten-crop")
    # usable 7056 s, ten-crop 128.3 s: 41.24 epochs; search 8.25 (20%), final 32; the rest: 4 trials of 2
    assert (plan.winners, plan.final_epochs, plan.trial_epochs, plan.trials) == (1, 32, 2, 4)
    assert plan.search_seconds + plan.final_seconds + plan.evaluation_seconds == pytest.approx(7056)


def test_tta_steps_down_when_it_would_take_more_than_a_tenth():
    slow_inference = Pace(epoch_seconds=10, image_seconds=0.01, n_val=3589, n_test=3589, model_seconds=20,
                          shared_seconds=15)
    assert affordable_tta(slow_inference, "ten-crop", 6000) == "ten-crop"  # 501 s of 6000
    assert affordable_tta(slow_inference, "ten-crop", 3000) == "flip"  # ten-crop 501 s > 300, flip 214 s
    assert affordable_tta(slow_inference, "ten-crop", 1000) is None
    assert plan_pipeline(1000, slow_inference, trial_epochs=1, max_trials=5, top=1, final_epochs_cap=10,
                         tta="ten-crop").tta is None


def test_a_budget_without_room_for_two_trials_and_a_final_epoch_is_one_line():
    bare = Pace(epoch_seconds=10, image_seconds=0, n_val=1, n_test=1, model_seconds=0, shared_seconds=0)
    with pytest.raises(UserError, match="give at least 31s"):
        plan_pipeline(30, bare, trial_epochs=1, max_trials=5, top=1, final_epochs_cap=10, tta=None)
    assert plan_pipeline(31, bare, trial_epochs=3, max_trials=5, top=1, final_epochs_cap=10, tta=None).trial_epochs == 1
