"""Several scenarios scored after one training run (OPPORTUNITY trains each model once for both)."""

from __future__ import annotations

from collections.abc import Callable, Mapping


def evaluate_scenarios(model, dataset, scenarios: Mapping[str, Callable[..., list[dict]]], **kwargs) -> list[dict]:
    """Run every scenario's evaluation function and tag its rows with the scenario's name.

    Args:
        scenarios: ``{name: fn}``, each ``fn`` a scenario evaluation function (e.g. a partial of
            :func:`~embracenet.scenarios.evaluate_missing_modalities`).
        kwargs: what the runner passes to every scenario (split, seed, batch_size, device,
            progress, out_dir, variant); forwarded unchanged.

    Returns:
        The rows of all scenarios, each with a ``scenario`` key, which the runner keeps in place of
        the combined scenario's own name.
    """
    if not scenarios:
        raise ValueError("scenario.evaluate.scenarios is empty; name at least one scenario to evaluate")
    rows = []
    for name, evaluate in scenarios.items():
        rows.extend({**row, "scenario": name} for row in evaluate(model, dataset, **kwargs))
    return rows
