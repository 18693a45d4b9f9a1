"""xinstruct: cross-lingual instruction tuning, from data mixture to transfer report.

Reproducible CPU numerics: the same lab run gives different numbers on an AVX2 and an AVX-512 CPU (torch's
ATen kernels and MKL pick the widest instructions the CPU has, and floating-point sums differ). Importing
xinstruct pins both to the AVX2 family on x86 CPUs before torch loads (`ATEN_CPU_CAPABILITY=avx2`,
`MKL_CBWR=AVX2`), so a config and seed give the same numbers on any x86 CPU with AVX2. Set
`XINSTRUCT_CPU_KERNELS=native` to let them use the CPU's widest kernels (faster on AVX-512, numbers differ);
variables you set yourself are kept. Every stage manifest records the kernel family used
(`xinstruct.environment`).
"""

import os as _os
import platform as _platform

__version__ = "0.1.0"

if _os.environ.get("XINSTRUCT_CPU_KERNELS", "avx2").lower() != "native" and _platform.machine().lower() in (
    "x86_64",
    "amd64",
):
    _os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
    _os.environ.setdefault("MKL_CBWR", "AVX2")
