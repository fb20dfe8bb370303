"""Local AI: model registry, speech-to-text and LLM runners, and the lesson pipeline."""
