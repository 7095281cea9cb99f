"""Routing source code to per-language LoRA experts."""
