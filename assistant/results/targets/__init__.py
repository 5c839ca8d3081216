"""Delivery targets: the HR systems and files that results are written to."""
