"""Checking a person's work: one answer (`check`), a whole derivation line by line (`check_steps`), and their
code (`check_code`), each against the derived results, with diagnoses of what is wrong."""
