"""What a search will spend, said before it starts: trials, epochs, and (after an epoch) time.

For Hyperband the plan is keras-tuner's own schedule, read from its oracle: brackets from the
most aggressive (many short trials) to plain random search, each round keeping the best third
and training it longer. Only whole brackets let a configuration reach `--max-epochs`, so a
`--max-trials` cap that cuts the plan is spelled out: which rounds never run.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Round:
    iteration: int
    bracket: int
    round: int
    trials: int
    epochs: int      # what each trial of the round trains up to (cumulative)
    new_epochs: int  # what each trial trains in this round (continuations resume from their parent)


def hyperband_rounds(oracle) -> list[Round]:
    """Every round of the oracle's plan, in the order keras-tuner runs them (one process)."""
    rounds = []
    iterations = oracle.hyperband_iterations if oracle.hyperband_iterations != float("inf") else 1
    for it in range(int(iterations)):
        for b in reversed(range(oracle._get_num_brackets())):
            for r in range(oracle._get_num_rounds(b)):
                epochs = oracle._get_epochs(b, r)
                before = oracle._get_epochs(b, r - 1) if r else 0
                rounds.append(Round(it, b, r, oracle._get_size(b, r), epochs, epochs - before))
    return rounds


def planned_epochs(rounds: list[Round], max_trials: int | None = None) -> int:
    """Epochs of training the plan runs (up to `max_trials` trials, counted in running order)."""
    total, left = 0, max_trials if max_trials else float("inf")
    for r in rounds:
        n = int(min(r.trials, left))
        total, left = total + n * r.new_epochs, left - n
    return total


def cut_by(rounds: list[Round], max_trials: int | None) -> tuple[list[tuple[Round, int]], list[Round]]:
    """(rounds that run partly, with how many trials), and rounds that never run, under the cap."""
    if not max_trials:
        return [], []
    partial, never, left = [], [], max_trials
    for r in rounds:
        if left <= 0:
            never.append(r)
        elif left < r.trials:
            partial.append((r, left))
        left -= r.trials
    return partial, never


def describe_hyperband(oracle, max_trials: int | None) -> list[str]:
    """The plan in a few lines: per bracket its rounds as trials x epochs, totals, and any cut."""
    rounds = hyperband_rounds(oracle)
    total_trials = sum(r.trials for r in rounds)
    iterations = len({r.iteration for r in rounds})
    lines = [f"Hyperband plan: max {oracle.max_epochs} epochs, factor {oracle.factor}, {iterations} iteration"
             f"{'s' * (iterations > 1)}: {len({(r.iteration, r.bracket) for r in rounds})} brackets, "
             f"{total_trials} trials, {planned_epochs(rounds)} epochs of training"]
    for key in dict.fromkeys((r.iteration, r.bracket) for r in rounds):
        steps = " -> ".join(f"{r.trials} x {r.epochs}" for r in rounds if (r.iteration, r.bracket) == key)
        lines.append(f"  bracket {key[1]}{f' (iteration {key[0] + 1})' if iterations > 1 else ''}: "
                     f"{steps} epochs (trials x epochs trained to)")
    partial, never = cut_by(rounds, max_trials)
    if partial or never:
        reached = max((r.epochs for r in rounds[:len(rounds) - len(never)]), default=0)
        cut = [f"bracket {r.bracket} round {r.round} runs {n} of its {r.trials} trials" for r, n in partial]
        cut += [f"{len(never)} later round{'s' * (len(never) != 1)} never run"] if never else []
        lines.append(f"  --max-trials {max_trials} cuts this plan: {'; '.join(cut)}; "
                     f"{planned_epochs(rounds, max_trials)} epochs of training, and no configuration trains "
                     f"beyond {reached} epoch{'s' * (reached != 1)}" + (" (the whole plan reaches " f"{oracle.max_epochs})"
                                                    if reached < oracle.max_epochs else ""))
    return lines


def describe_trials(max_trials: int, max_epochs: int) -> list[str]:
    """The plan of a random or Bayesian search: trials times epochs at most (early stopping ends many sooner)."""
    return [f"plan: {max_trials} trials of up to {max_epochs} epochs: at most {max_trials * max_epochs} "
            "epochs of training (early stopping ends many plateau-schedule trials sooner; cosine ones run their epochs)"]
