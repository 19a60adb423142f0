"""Every Python example in README.md runs as a user would paste it.

Each ```python block runs in a fresh interpreter, in an empty folder, with the
package installed as README.md says. A block whose first line is
``# continues the previous example`` runs together with the blocks before it.
``SKNN_MNIST`` points at a tiny stand-in for MNIST, so the MNIST example runs too.

The packages of the optional extras are hidden from each example, as if only
``pip install -e .`` had run, unless the example says which extra it needs
(``pip install -e ".[plot]"``).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .fake_mnist import write_fake_mnist

README = Path(__file__).resolve().parents[1] / "README.md"
CONTINUES = "# continues the previous example"
EXTRAS = {"plot": {"matplotlib"}, "skops": {"skops"}}
NOT_IN_THE_BASE_INSTALL = {
    "matplotlib",
    "pandas",
    "distributed",
    "dask",
    "rich",
    "torch",
    "skops",
    "hypothesis",
    "pytest",
}
HIDE_PACKAGES = """
import sys

class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {hidden!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, _NotInstalled())
"""


def hidden_packages(code):
    """The optional packages an example may not import: all but its extras'."""
    allowed = set()
    for extra, packages in EXTRAS.items():
        if f'pip install -e ".[{extra}]"' in code:
            allowed |= packages
    return sorted(NOT_IN_THE_BASE_INSTALL - allowed)


def readme_examples():
    """Return (title, code) per example: a block plus the blocks continuing it."""
    text = README.read_text()
    examples = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        code = match.group(1)
        heading = re.findall(r"^## (.+)$", text[: match.start()], re.MULTILINE)
        title = heading[-1] if heading else "top"
        if code.startswith(CONTINUES):
            if not examples:
                raise AssertionError("README's first example cannot continue another")
            previous_title, previous_code = examples[-1]
            examples[-1] = (previous_title, previous_code + "\n" + code)
        else:
            examples.append((title, code))
    return examples


EXAMPLES = readme_examples()


def test_readme_has_examples():
    assert len(EXAMPLES) >= 5


def test_examples_cannot_import_what_the_base_install_lacks():
    code = "import pandas"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            HIDE_PACKAGES.format(hidden=hidden_packages(code)) + code,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "No module named 'pandas'" in result.stderr
    assert "matplotlib" not in hidden_packages('# needs pip install -e ".[plot]"')


@pytest.mark.parametrize(
    "code", [code for _, code in EXAMPLES], ids=[title for title, _ in EXAMPLES]
)
def test_readme_example_runs(code, tmp_path):
    mnist = write_fake_mnist(tmp_path / "mnist") if "load_mnist" in code else None
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("SKNN_MNIST", None)
    if mnist:
        env["SKNN_MNIST"] = str(mnist)
    work = tmp_path / "work"
    work.mkdir()
    prelude = HIDE_PACKAGES.format(hidden=hidden_packages(code))
    result = subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
