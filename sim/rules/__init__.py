"""Customer mechanisms, one module each.

Every rule is a pure, element-wise function of customer state arrays, parameters, the
firm's decisions and pre-drawn uniforms. The vectorized engine passes whole arrays; the
agents engine passes one customer's row (length-1 arrays). Rules never import the model,
the CLI or any plotting.
"""
