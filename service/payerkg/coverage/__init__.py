"""Coverage answers: what a payer requires for a code on a date, and why; the matrix and conflicts."""
