"""Numbers from derivations: numpy code generated from the derived results, data reading and design matrices,
and the fitting methods (exact, QR, Cholesky, Newton/IRLS, gradient descent) with their results."""
