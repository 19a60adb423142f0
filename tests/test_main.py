"""The main job, ``python -m sknn``."""

import os
import re
import signal
import subprocess
import sys

import pytest

import sknn
from sknn.__main__ import main

from .conftest import default_sigint
from .fake_mnist import write_fake_mnist


@pytest.fixture(autouse=True)
def no_mnist_from_the_environment(monkeypatch):
    monkeypatch.delenv("SKNN_MNIST", raising=False)


def test_trains_on_digits_with_validation_per_epoch_and_test_at_the_end(capsys):
    assert main(["--epochs", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Training (30,) on 1144 digits (validation: 203, test: 450)"
    epochs = out[1:6]
    for i, line in enumerate(epochs, start=1):
        assert line.startswith(f"Epoch {i}/5: training cost ")
        assert re.search(r"validation accuracy \d+ / 203 = [\d.]+%", line)
    accuracy = re.fullmatch(
        r"Test accuracy: (\d+) / 450 = ([\d.]+)% after 5 epochs in [\d.]+ s", out[-1]
    )
    assert accuracy and float(accuracy.group(2)) > 85


def test_early_stopping_reports_the_epoch_it_kept(capsys):
    assert main(["--epochs", "60", "--early-stopping", "3"]) == 0
    out = capsys.readouterr().out
    kept = re.search(r"Kept the weights of epoch (\d+) \(early_stopping\)", out)
    run = re.search(r"after (\d+) epochs", out)
    assert kept and run and int(kept.group(1)) == int(run.group(1)) - 3


def test_eta_auto_is_the_default_and_a_number_is_used_as_given(capsys):
    assert main(["--epochs", "1"]) == 0
    assert "eta 0.5," in capsys.readouterr().out
    assert main(["--epochs", "1", "--cost", "quadratic"]) == 0
    assert "eta 1," in capsys.readouterr().out
    assert main(["--epochs", "1", "--eta", "0.3"]) == 0
    assert "eta 0.3," in capsys.readouterr().out


def test_halving_schedule_changes_eta(capsys):
    assert (
        main(["--epochs", "40", "--schedule", "halving", "--early-stopping", "2"]) == 0
    )
    assert "eta 0.25," in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--eta", "-1"], "--eta"),
        (["--eta", "0"], "--eta"),
        (["--eta", "fast"], "--eta"),
        (["--dropout", "1"], "--dropout"),
        (["--momentum", "1.5"], "--momentum"),
        (["--hidden", "30", "0"], "--hidden"),
        (["--epochs", "ten"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--lmbda", "-0.1"], "--lmbda"),
        (["--test-size", "1"], "--test-size"),
        (["--cost", "hinge"], "--cost"),
        (["--early-stopping", "0"], "--early-stopping"),
    ],
)
def test_invalid_values_are_one_line_usage_errors(argv, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"python -m sknn: error: argument {option}")
    assert "Traceback" not in "".join(err)


def test_help_shows_every_default():
    result = subprocess.run(
        [sys.executable, "-m", "sknn", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    options = re.split(r"\n  (?=-)", result.stdout.split("options:")[1])[1:]
    names = [block.split()[0].rstrip(",") for block in options]
    for expected in ("--cost", "--lmbda", "--eta", "--mnist", "--epochs", "--seed"):
        assert expected in names
    for block in options:
        if block.startswith(("-h", "--version")):
            continue
        assert "(default:" in " ".join(block.split()), block


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sknn {sknn.__version__}"


def test_missing_mnist_folder_is_a_usage_error_naming_it(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    with pytest.raises(SystemExit) as exit_info:
        main(["--mnist", str(missing)])
    assert exit_info.value.code == 2
    assert f"--mnist {missing}" in capsys.readouterr().err


def test_mnist_folder_defaults_to_the_environment_variable(
    tmp_path, monkeypatch, capsys
):
    missing = tmp_path / "from-env"
    monkeypatch.setenv("SKNN_MNIST", str(missing))
    with pytest.raises(SystemExit):
        main([])
    assert str(missing) in capsys.readouterr().err


def test_trains_on_mnist_files_with_the_book_split(tmp_path, capsys):
    write_fake_mnist(tmp_path)
    assert main(["--mnist", str(tmp_path), "--epochs", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Training (30,) on 200 MNIST images (validation: 10000, test: 100)"
    assert "validation accuracy" in out[1] and "/ 10000 =" in out[1]
    assert out[-1].startswith("Test accuracy: ") and "/ 100 = " in out[-1]


def test_a_failed_run_says_so_and_exits_nonzero(capsys):
    code = main(["--eta", "1000", "--initializer", "large", "--epochs", "2"])
    assert code == 1
    err = capsys.readouterr().err
    assert "Training failed" in err and "FailedToLearnWarning: " in err
    assert "sklearn" not in err  # the warning's message, not its source line


def test_progress_bar_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["--epochs", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("Epoch 2/4 [##########..........]:")


def test_save_writes_a_model_file_that_loads_and_predicts_the_same(tmp_path, capsys):
    from sklearn.datasets import load_digits

    from sknn.persistence import load

    path = tmp_path / "model.json"
    assert main(["--epochs", "2", "--save", str(path)]) == 0
    assert f"Saved the model to {path}" in capsys.readouterr().out
    model = load(path)
    X, _ = load_digits(return_X_y=True)
    assert model.predict(X[:20] / 16).shape == (20,)
    assert model.n_iter_ == 2


def test_save_is_skipped_when_training_failed(tmp_path):
    path = tmp_path / "model.json"
    argv = ["--eta", "1000", "--initializer", "large", "--epochs", "2"]
    assert main([*argv, "--save", str(path)]) == 1
    assert not path.exists()


def test_save_to_a_missing_folder_is_a_usage_error_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--save", str(tmp_path / "no" / "model.json")])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "--save" in captured.err and "Epoch" not in captured.out


def test_ctrl_c_tests_the_last_completed_epoch_and_exits_130():
    """A real SIGINT once training has printed an epoch: no traceback, a test score."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sknn", "--epochs", "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SKNN_MNIST": ""},
        preexec_fn=default_sigint,
    )
    try:
        # Epoch 1 counts once its hooks (the line printer among them) have run,
        # so the second line is the first sign that an epoch has completed.
        epoch_lines = 0
        for line in process.stdout:
            epoch_lines += line.startswith("Epoch")
            if epoch_lines == 2:
                break
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert "Interrupted: testing the model of epoch" in stderr
    assert re.search(r"Test accuracy: \d+ / 450", stdout)
