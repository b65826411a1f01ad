"""Diffusion backend latency at realistic size (random weights), for a machine with a GPU.

    python -m bench.diffusion_gpu                      # svd, ltx, wan at 1024x576, 25 frames
    python -m bench.diffusion_gpu --kinds svd --steps 25 --runs 2
    python -m bench.diffusion_gpu --tiny --device cpu --runs 1 --steps 2 --frames 9 \\
        --width 128 --height 64                        # a dry run: about a minute on 2 CPU cores

No weights can be downloaded here, so each pipeline is built at its published size with random
weights (latency does not depend on the weights' values), written with `save_pretrained` and
loaded back through `generation.diffusion.DiffusionBackend`, the path production uses with
STILLGUARD_DIFFUSERS_MODEL. Sizes: SVD-XT (UNet 1.5 B, ViT-H image encoder, temporal VAE);
LTX-Video 0.9 (2 B transformer, T5-XXL-sized encoder, its VAE); Wan 2.2 TI2V-5B (5 B
transformer, its 48-channel VAE, a T5-XXL-sized encoder with a small vocabulary: the encoder
runs once per clip, so its vocabulary does not change the latency). Tokenizers are word-level
ones built in memory, since the real ones are downloads.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from generation import GenerationOptions
from generation.diffusion import DiffusionBackend
from tests.support.samples import SAMPLE_PHOTO
from tests.support.synthetic_photos import landscape_photo
from tests.support.tiny_diffusion import svd_scheduler, wan_vae, word_tokenizer


def _t5_encoder(tiny: bool, *, umt5: bool = False) -> Any:
    """A T5-XXL-sized encoder (LTX-Video's) or, with umt5, its UMT5 sibling (Wan's)."""
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    size = (
        {"d_model": 32, "d_ff": 37, "d_kv": 8, "num_heads": 4, "num_layers": 2}
        if tiny
        else {
            "d_model": 4096,
            "d_ff": 10240,
            "d_kv": 64,
            "num_heads": 64,
            "num_layers": 24,
        }  # T5-v1.1-XXL
    )
    config_class, model_class = (
        (UMT5Config, UMT5EncoderModel) if umt5 else (T5Config, T5EncoderModel)
    )
    config = config_class(
        vocab_size=1024,
        feed_forward_proj="gated-gelu",
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        **size,
    )
    return model_class(config).eval()


def build_svd(tiny: bool) -> Any:
    import diffusers
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    if tiny:
        unet = diffusers.UNetSpatioTemporalConditionModel(
            block_out_channels=(32, 64),
            layers_per_block=1,
            down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
            up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
            cross_attention_dim=32,
            num_attention_heads=8,
            projection_class_embeddings_input_dim=96,
            addition_time_embed_dim=32,
        )
        vae = diffusers.AutoencoderKLTemporalDecoder(
            block_out_channels=[32, 64],
            down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        )
        vision = CLIPVisionConfig(
            hidden_size=32,
            projection_dim=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=37,
            patch_size=32,
        )
    else:
        unet = diffusers.UNetSpatioTemporalConditionModel()  # the defaults are SVD's UNet
        vae = diffusers.AutoencoderKLTemporalDecoder(
            block_out_channels=[128, 256, 512, 512],
            down_block_types=["DownEncoderBlock2D"] * 4,
            layers_per_block=2,
            sample_size=768,
        )
        vision = CLIPVisionConfig(  # ViT-H/14, SVD's image encoder
            hidden_size=1280,
            projection_dim=1024,
            num_hidden_layers=32,
            num_attention_heads=16,
            intermediate_size=5120,
            patch_size=14,
            hidden_act="gelu",
        )
    return diffusers.StableVideoDiffusionPipeline(
        unet=unet.eval(),
        image_encoder=CLIPVisionModelWithProjection(vision).eval(),
        scheduler=svd_scheduler(diffusers),
        vae=vae.eval(),
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
    )


def build_ltx(tiny: bool) -> Any:
    import diffusers

    if tiny:
        transformer = diffusers.LTXVideoTransformer3DModel(
            num_attention_heads=4,
            attention_head_dim=8,
            cross_attention_dim=32,
            num_layers=1,
            caption_channels=32,
        )
        vae = diffusers.AutoencoderKLLTXVideo(
            block_out_channels=(8, 8, 8, 8),
            decoder_block_out_channels=(8, 8, 8, 8),
            layers_per_block=(1, 1, 1, 1, 1),
            decoder_layers_per_block=(1, 1, 1, 1, 1),
        )
    else:  # the defaults are LTX-Video 2B and its 0.9 VAE
        transformer = diffusers.LTXVideoTransformer3DModel()
        vae = diffusers.AutoencoderKLLTXVideo()
    return diffusers.LTXImageToVideoPipeline(
        transformer=transformer.eval(),
        vae=vae.eval(),
        scheduler=diffusers.FlowMatchEulerDiscreteScheduler(),
        text_encoder=_t5_encoder(tiny),
        tokenizer=word_tokenizer(128),
    )


def build_wan(tiny: bool) -> Any:
    import diffusers

    vae = wan_vae(
        diffusers,
        base_dim=16 if tiny else 160,
        dim_mult=[1, 2, 4, 4],
        num_res_blocks=1 if tiny else 2,
    )
    heads, layers, ffn = (2, 2, 32) if tiny else (24, 30, 14336)  # Wan 2.2 TI2V-5B
    transformer = diffusers.WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=heads,
        attention_head_dim=12 if tiny else 128,
        in_channels=48,
        out_channels=48,
        text_dim=32 if tiny else 4096,
        freq_dim=256,
        ffn_dim=ffn,
        num_layers=layers,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=1024,
    )
    return diffusers.WanImageToVideoPipeline(
        transformer=transformer.eval(),
        vae=vae.eval(),
        scheduler=diffusers.UniPCMultistepScheduler(
            prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0
        ),
        text_encoder=_t5_encoder(tiny, umt5=True),
        tokenizer=word_tokenizer(512),
        transformer_2=None,
        image_encoder=None,
        image_processor=None,
        expand_timesteps=True,
    )


BUILDERS = {"svd": build_svd, "ltx": build_ltx, "wan": build_wan}


def build_and_save(kind: str, folder: Path, *, tiny: bool, device: str) -> float:
    """Builds the pipeline with random weights straight on the device, in half precision, and
    saves it; returns the seconds it took."""
    import torch

    start = time.perf_counter()
    dtype = torch.float32 if device == "cpu" else torch.float16
    if kind != "svd" and device != "cpu":
        dtype = torch.bfloat16
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            pipeline = BUILDERS[kind](tiny)
    finally:
        torch.set_default_dtype(previous)
    pipeline.save_pretrained(folder)
    del pipeline
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return time.perf_counter() - start


def parameters(backend: DiffusionBackend) -> float:
    """Billions of parameters over the pipeline's torch modules."""
    import torch

    total = 0
    for component in backend.load().components.values():
        if isinstance(component, torch.nn.Module):
            total += sum(p.numel() for p in component.parameters())
    return total / 1e9


def measure(kind: str, args: argparse.Namespace, photo: Any) -> dict[str, Any]:
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / kind
        built = build_and_save(kind, folder, tiny=args.tiny, device=args.device)
        backend = DiffusionBackend(
            folder,
            device=args.device,
            steps=args.steps,
            model_frames=args.frames,
            max_side=max(args.width, args.height),
        )
        start = time.perf_counter()
        backend.load()
        loaded = time.perf_counter() - start
        options = GenerationOptions(
            width=args.width, height=args.height, duration_s=args.duration, fps=args.fps, seed=7
        )
        runs = []
        for _ in range(args.runs):
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            timings: dict[str, float] = {}
            start = time.perf_counter()
            clip = backend.generate(photo, options, timings=timings)
            timings["total"] = time.perf_counter() - start
            if args.device.startswith("cuda"):
                timings["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
            runs.append({k: round(v, 3) for k, v in timings.items()})
        model_w, model_h = backend._model_size(args.width, args.height)
        result = {
            "kind": kind,
            "params_b": round(parameters(backend), 3),
            "model_size": f"{model_w}x{model_h}",
            "model_frames": backend._frame_count(),
            "steps": args.steps,
            "build_and_save_s": round(built, 1),
            "load_s": round(loaded, 1),
            "clip": list(clip.frames.shape),
            "runs": runs,
        }
        del backend
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="svd,ltx,wan")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=576)
    parser.add_argument("--frames", type=int, default=25, help="frames the model makes")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--runs", type=int, default=2, help="the first run includes warm-up")
    parser.add_argument("--duration", type=float, default=4.0, help="clip length after resampling")
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny configs: check the script")
    parser.add_argument("--budget", type=float, default=1e9, help="skip kinds after this many s")
    args = parser.parse_args(argv)

    import torch

    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    photo = landscape_photo(args.width, args.height) if args.tiny else Image.open(SAMPLE_PHOTO)
    began = time.perf_counter()
    for kind in args.kinds.split(","):
        if time.perf_counter() - began > args.budget:
            print(json.dumps({"kind": kind, "skipped": "time budget spent"}), flush=True)
            continue
        result = measure(kind, args, photo)
        print(json.dumps(result), flush=True)
        for number, run in enumerate(result["runs"], 1):
            per_step = run["diffusion"] / args.steps
            print(
                f"{kind} run {number}: diffusion {run['diffusion']:.2f} s "
                f"({per_step * 1000:.0f} ms/step), total {run['total']:.2f} s, "
                f"peak {run.get('peak_gib', 0):.1f} GiB",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
