"""Every Snakemake job pays for what its script imports: a job imports only its family's
library (torch or scikit-learn), so 140 demo jobs do not each load both."""

import subprocess
import sys

import pytest

CASES = {
    # a torch training job (scripts/train_torch.py): no scikit-learn, no plotting
    "train_torch": (
        (
            "import genreflow.training.run; from genreflow.models import get_model; "
            "get_model('cnn_seed001')"
        ),
        ("torch",),
        ("sklearn", "matplotlib", "seaborn", "librosa"),
    ),
    # scikit-learn training and evaluation jobs: no torch
    "train_classical": (
        (
            "import genreflow.training.run_classical; from genreflow.models import get_model; "
            "get_model('logreg'); get_model('embedding_forest_seed004')"
        ),
        ("sklearn",),
        ("torch", "matplotlib"),
    ),
    "evaluate_classical": (
        "import genreflow.evaluation.predict_classical, genreflow.evaluation.fold",
        ("sklearn", "matplotlib"),
        ("torch",),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_job_imports_only_its_family(case):
    code, wanted, unwanted = CASES[case]
    probe = f"{code}\nimport sys\nprint(','.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(result.stdout.strip().split(","))
    assert set(wanted) <= loaded
    assert not loaded & set(unwanted), f"{case} imports {sorted(loaded & set(unwanted))}"


def test_get_model_imports_only_the_models_module():
    from genreflow.models.index import load_index

    index = load_index()
    assert index["logreg"].module == "genreflow.models.classical"
    assert index["cnn_gru_seed002"].module == "genreflow.models.cnn_gru_attn_seed002"
    probe = (
        "from genreflow.models import get_model, MODELS\n"
        "get_model('bilstm_seed004')\n"
        "print(','.join(sorted(MODELS)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "bilstm_seed004"
