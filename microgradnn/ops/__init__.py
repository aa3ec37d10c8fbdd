"""Every differentiable operation, forward and backward side by side, one family a module.

``elementwise``: arithmetic and activations; ``reduce``: sum, mean, max, var, logsumexp;
``softmax``: softmax and log-softmax; ``shape``: reshape, transpose, indexing, concatenate;
``linalg``: matmul, einsum and the products,
triangles and diagonals, inv/det/solve/cholesky/qr; ``random``: sampling. ``backmath`` holds the
few helpers their backward formulas share.
"""
