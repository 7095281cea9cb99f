"""See the results: ``codebabel runs list`` (runs.py: every run on disk, read back by the files its command
writes) and ``codebabel report RUN... --out DIR`` (build.py: a static HTML page and its Markdown, figures.py's
matplotlib figures as PNG and SVG, render.py's page; groups.py groups evaluation runs into series and
before/after comparisons; published.py holds the published reference numbers drawn beside ours).

Nothing here imports matplotlib but figures.py (and build.py, which draws with it), so listing runs stays light.
"""
