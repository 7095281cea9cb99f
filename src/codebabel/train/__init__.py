"""Fine-tuning: recipes (typed YAML), LoRA or full, curriculum stages."""
