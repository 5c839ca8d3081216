"""AI-quality evaluations; `python -m evals` runs them all. pytest does not collect them."""
