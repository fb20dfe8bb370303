"""Can the pinned CTranslate2 run Whisper on this machine's GPU? Prints one JSON object.

Run on the province's GPU machine before `edge-server ai precompute --device cuda` (no network, no model download:
a random tiny Whisper is built with transformers and converted here). Needs ctranslate2 (the pinned wheel),
torch and transformers.

    python scripts/gpu_whisper_probe.py

Seen on an NVIDIA H200 with only CUDA 13 (2026-11-30): 1 device, compute types up to bfloat16, and every run
"Library libcublas.so.12 is not found or cannot be loaded": the pinned CTranslate2 4.8.5 needs the CUDA 12 cuBLAS.
With the CUDA 13 cuBLAS linked under the CUDA 12 name (a probe, not a fix) the tiny Whisper ran: float32 12.6 s
(the first run compiles the kernels), float16 0.25 s, int8_float16 0.55 s.
"""

from __future__ import annotations

import ctypes
import json
import time
from pathlib import Path

WORK = Path("/tmp/gpu-whisper-probe")


def tiny_whisper() -> Path:
    """A random one-layer Whisper with a small tokenizer, converted to CTranslate2."""
    from ctranslate2.converters import TransformersConverter
    from transformers import WhisperConfig, WhisperForConditionalGeneration, WhisperTokenizer

    source = WORK / "hf"
    config = WhisperConfig(vocab_size=51865, d_model=64, encoder_layers=1, decoder_layers=1,
                           encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
                           decoder_ffn_dim=128, num_mel_bins=80, max_source_positions=1500,
                           max_target_positions=448)
    WhisperForConditionalGeneration(config).save_pretrained(source)
    vocab = {f"t{i}": i for i in range(50257)} | {"<|endoftext|>": 50257}
    (WORK / "vocab.json").write_text(json.dumps(vocab))
    (WORK / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = WhisperTokenizer(str(WORK / "vocab.json"), str(WORK / "merges.txt"), unk_token="<|endoftext|>",
                                 bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": [
        "<|startoftranscript|>", "<|en|>", "<|fr|>", "<|translate|>", "<|transcribe|>", "<|startoflm|>",
        "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]})
    tokenizer.save_pretrained(source)
    target = WORK / "ct2"
    TransformersConverter(str(source)).convert(str(target), force=True)
    return target


def main() -> None:
    import ctranslate2
    import numpy as np

    report: dict[str, object] = {"ctranslate2": ctranslate2.__version__,
                                 "cuda_devices": ctranslate2.get_cuda_device_count()}
    for name in ("libcublas.so.12", "libcublas.so.13"):
        try:
            ctypes.CDLL(name)
            report[name] = "loads"
        except OSError as exc:
            report[name] = str(exc)[:120]
    if report["cuda_devices"]:
        report["compute_types"] = sorted(ctranslate2.get_supported_compute_types("cuda"))
        WORK.mkdir(parents=True, exist_ok=True)
        model_dir = tiny_whisper()
        features = np.random.rand(1, 80, 3000).astype("float32")
        for compute_type in ("float32", "float16", "int8_float16"):
            try:
                model = ctranslate2.models.Whisper(str(model_dir), device="cuda", compute_type=compute_type)
                started = time.perf_counter()
                model.generate(ctranslate2.StorageView.from_array(features), [[50258]], max_length=8)
                report[f"run_{compute_type}"] = f"ok in {time.perf_counter() - started:.3f} s"
            except Exception as exc:  # noqa: BLE001 - the reason is the finding
                report[f"run_{compute_type}"] = repr(exc)[:300]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
