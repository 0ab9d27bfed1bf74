"""Branch-free element-wise selection.

``np.where`` on a data-dependent mask costs about 4 ns per element on these machines,
ten times a multiply, and the engine selects dozens of times a month. These helpers
blend with arithmetic instead; they are exact for finite values.
"""

from __future__ import annotations

import numpy as np


def select(mask: np.ndarray, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """``a`` where ``mask`` else ``b``, like ``np.where`` for finite floats and integers.

    For floats a·1 + b·0 = a and a·0 + b·1 = b exactly. Integer arrays keep their dtype
    when ``a`` and ``b`` share it (a scalar of that kind is cast).
    """
    a_arr = np.asarray(a)
    if a_arr.dtype.kind in "iu" and np.asarray(b).dtype.kind in "iub":
        dtype = a_arr.dtype if a_arr.ndim else np.asarray(b).dtype
        b_arr = np.asarray(b, dtype=dtype)
        # b + mask · (a − b), written into one new array.
        out = np.multiply(mask, np.subtract(a_arr, b_arr, dtype=dtype), dtype=dtype)
        out += b_arr
        return out
    return a * mask + b * ~np.asarray(mask, dtype=bool)
