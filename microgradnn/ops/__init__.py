"""Every differentiable operation, forward and backward side by side, one family a module.

``elementwise``: arithmetic and activations; ``reduce``: sum, mean, max, var, logsumexp;
``softmax``: softmax and log-softmax; ``shape``: reshape, transpose, indexing, concatenate;
``linalg``: matmul. ``backmath`` holds the few helpers their backward formulas share.
"""
