"""microgradnn.linalg: PyTorch's ``torch.linalg`` namespace (norms, and inv, det, slogdet, solve, cholesky, qr).

>>> import microgradnn as mg
>>> mg.linalg.norm(mg.Tensor([3.0, 4.0])).item()
5.0
"""

from __future__ import annotations

from .ops.linalg import QRResult, SlogdetResult, cholesky, det, inv, qr, slogdet, solve
from .ops.reduce import linalg_norm as norm
from .ops.reduce import matrix_norm, vector_norm

__all__ = ["norm", "vector_norm", "matrix_norm"]
__all__ += ["inv", "det", "slogdet", "solve", "cholesky", "qr", "SlogdetResult", "QRResult"]
