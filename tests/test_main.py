"""The main job, ``python -m sknn``."""

import re
import subprocess
import sys

from sknn.__main__ import main


def test_main_job_trains_on_digits_and_reports_accuracy(capsys):
    assert main(["--epochs", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out[1:6]] == [
        f"Epoch {i}" for i in range(1, 6)
    ]
    accuracy = re.search(r"Test accuracy: (\d+) / 450 = ([\d.]+)%", out[-1])
    assert accuracy and float(accuracy.group(2)) > 85


def test_main_job_with_early_stopping_holds_out_validation(capsys):
    assert main(["--epochs", "40", "--early-stopping", "3"]) == 0
    out = capsys.readouterr().out
    assert "validation split" in out and "Test accuracy" in out


def test_module_entry_point_documents_its_options():
    result = subprocess.run(
        [sys.executable, "-m", "sknn", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in (
        "--cost",
        "--regularizer",
        "--lmbda",
        "--eta",
        "--dropout",
        "--momentum",
    ):
        assert option in result.stdout
