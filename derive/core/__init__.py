"""The verification core: limits on work, numeric evaluation of every node (complex step included), random
points drawn from each symbol's domain, and the Step/Derivation records whose every step is checked."""
