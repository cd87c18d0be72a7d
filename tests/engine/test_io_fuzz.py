"""A small, seeded fuzz of model files: every mutant of a real saved file is either refused with
ModelFileError or loads into a usable model (finite predictions, a save/load round trip with the
same predictions, one finite training step). Nothing else. The large run is bench/fuzz_model_files.py."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from nncore import ModelFileError, load_model

_PATH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_model_files.py"
_spec = importlib.util.spec_from_file_location("fuzz_model_files", _PATH)
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

N_MUTANTS = 360


@pytest.fixture(scope="module")
def bases():
    return fuzz.base_files()


def test_base_files_load_and_are_usable(bases):
    """The fuzz starts from valid files: each one loads and passes the usability check."""
    assert {"adam", "rmsprop", "sgd-momentum", "version-1", "uncompiled"} <= {name for name, _ in bases}
    for name, text in bases:
        verdict, detail = fuzz.judge(text.encode(), np.random.default_rng(0))
        assert verdict == "usable", f"{name}: {detail}"
    doc = json.loads(dict(bases)["adam"])
    assert doc["optimizer_state"]["t"] > 0 and doc["epoch"] == 2 and len(doc["batch_history"]["step"]) > 0


def test_mutants_are_refused_cleanly_or_usable(bases):
    counts, failures = fuzz.run(N_MUTANTS, seed=7, bases=bases)
    assert not failures, "\n".join(failures[:10])
    assert counts["other"] == 0
    # the fuzz reaches both outcomes, so neither check above is vacuous
    assert counts["refused"] > N_MUTANTS // 2 and counts["usable"] >= 10, counts


def test_mutation_writer_emits_tokens_json_cannot(bases):
    """The mutants really hold NaN tokens and 401-digit integers (what the loader must name)."""
    doc = json.loads(dict(bases)["adam"])
    doc["history"]["loss"][1] = fuzz.Raw("NaN")
    doc["epoch"] = fuzz.Raw("9" * 401)
    text = fuzz.dumps(doc)
    assert '"loss":[' in text and ",NaN]" in text.replace(" ", "") and "9" * 401 in text
    with pytest.raises(ModelFileError, match=r"^Invalid model file: epoch: is an integer of 401 digits"):
        load_model(text.encode())
