"""microgradnn.linalg: PyTorch's ``torch.linalg`` namespace (norms, cross, and inv, det, slogdet, solve,
cholesky, qr, svdvals).

>>> import microgradnn as mg
>>> mg.linalg.norm(mg.Tensor([3.0, 4.0])).item()
5.0
"""

from __future__ import annotations

from .ops.linalg import QRResult, SlogdetResult, cholesky, det, inv, qr, slogdet, solve, svdvals
from .ops.linalg import linalg_cross as cross
from .ops.reduce import linalg_norm as norm
from .ops.reduce import matrix_norm, vector_norm

__all__ = ["norm", "vector_norm", "matrix_norm"]
__all__ += ["cross", "inv", "det", "slogdet", "solve", "cholesky", "qr", "svdvals", "SlogdetResult", "QRResult"]
