"""Build the optional C training loop, sknn._cepoch.

Everything else about the package is in pyproject.toml. The extension is
optional: without a working C compiler the install still succeeds and sknn
trains with its numpy core (``sknn.show_build()`` tells which one is used).
The kernel vectorises explicitly (GCC/clang vector extensions), so it needs
no reassociation: only errno and trapping are dropped and FMA contraction is
allowed. Never ``-ffast-math``: it would also link ``crtfastmath.o``, which
sets flush-to-zero for the whole process.
"""

import sys

from setuptools import Extension, setup

if sys.platform == "win32":
    compile_args = ["/O2"]
else:
    compile_args = [
        "-O3",
        "-fno-math-errno",
        "-fno-trapping-math",
        "-Wno-psabi",
        "-ffp-contract=fast",
        "-pthread",
    ]

setup(
    ext_modules=[
        Extension(
            "sknn._cepoch",
            sources=["sknn/_cepoch.c"],
            depends=[
                "sknn/_cepoch_kernel.h",
                "sknn/_cepoch_layers.h",
                "sknn/_cepoch_block.h",
                "sknn/_cepoch_sync.h",
                "sknn/_cepoch_csr.h",
            ],
            extra_compile_args=compile_args,
            extra_link_args=[] if sys.platform == "win32" else ["-pthread"],
            optional=True,
        )
    ]
)
