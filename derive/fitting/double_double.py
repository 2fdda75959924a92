"""Double-double arithmetic (Dekker 1971; Knuth, TAOCP vol. 2 §4.2.2): the exact product and the exact sum
of two floats, each as a pair hi + lo of floats. Elementwise on numpy arrays."""

# Veltkamp's splitter 2^27 + 1: cuts a 53-bit significand into two halves whose products are exact.
_SPLITTER = 134217729.0


def two_product(a, b):
    """a·b = p + e exactly."""
    p = a * b
    ca, cb = _SPLITTER * a, _SPLITTER * b
    a_hi, b_hi = ca - (ca - a), cb - (cb - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def two_sum(a, b):
    """a + b = s + e exactly."""
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)
