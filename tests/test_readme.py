"""Every Python example in README.md runs as a user would paste it.

Each ```python block runs in a fresh interpreter, in an empty folder, with the
package installed as README.md says. A block whose first line is
``# continues the previous example`` runs together with the blocks before it.
``SKNN_MNIST`` points at a tiny stand-in for MNIST, so the MNIST example runs too.
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
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
