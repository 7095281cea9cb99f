"""Code corpora: sources, filters, dedup, decontamination, splits (``codebabel corpus build``)."""
