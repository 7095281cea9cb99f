"""codebabel: extend a small code model to more programming languages, and measure it by running its code."""

__version__ = "0.1.0"
