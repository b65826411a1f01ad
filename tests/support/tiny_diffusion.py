"""Tiny random-weight diffusion pipelines (SVD, LTX-Video, Wan) and a word-level tokenizer.

Built in memory, so tests and benchmarks exercise the real diffusers pipelines without downloads.
Each builder takes the torch and diffusers modules, which callers import (or skip) themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any


def word_tokenizer(max_length: int = 64) -> Any:
    """A word-level tokenizer built in memory (real T5 tokenizers are downloads)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = "the scene comes alive clouds drift water shimmers leaves sway light shifts"
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(words.split())}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=max_length,
    )


def tiny_t5(torch: ModuleType) -> tuple[Any, Any]:
    """A T5 encoder and a word-level tokenizer built in memory (no downloads)."""
    from transformers import T5Config, T5EncoderModel

    tokenizer = word_tokenizer()
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tokenizer) + 8,
        d_model=32,
        d_ff=37,
        d_kv=8,
        num_heads=4,
        num_layers=2,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    return T5EncoderModel(config).eval(), tokenizer


def svd_scheduler(diffusers: ModuleType) -> Any:
    """The Euler scheduler Stable Video Diffusion (XT) ships with, at any model size."""
    return diffusers.EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        interpolation_type="linear",
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        sigma_max=700.0,
        sigma_min=0.002,
        steps_offset=1,
        timestep_spacing="leading",
        timestep_type="continuous",
        use_karras_sigmas=True,
    )


def tiny_svd(torch: ModuleType, diffusers: ModuleType) -> Any:
    """A Stable Video Diffusion pipeline with a two-block UNet and a tiny CLIP image encoder."""
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = diffusers.UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=8,
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=32,
        num_attention_heads=8,
        projection_class_embeddings_input_dim=96,
        addition_time_embed_dim=32,
    ).eval()
    scheduler = svd_scheduler(diffusers)
    vae = diffusers.AutoencoderKLTemporalDecoder(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        latent_channels=4,
    ).eval()
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            projection_dim=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=224,
            intermediate_size=37,
            patch_size=32,
        )
    ).eval()
    return diffusers.StableVideoDiffusionPipeline(
        unet=unet,
        image_encoder=encoder,
        scheduler=scheduler,
        vae=vae,
        feature_extractor=CLIPImageProcessor(crop_size=32, size=32),
    )


def tiny_ltx(torch: ModuleType, diffusers: ModuleType) -> Any:
    """An LTX-Video image-to-video pipeline with a one-layer transformer and a tiny T5."""
    torch.manual_seed(0)
    transformer = diffusers.LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=32,
    ).eval()
    vae = diffusers.AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    ).eval()
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    text_encoder, tokenizer = tiny_t5(torch)
    return diffusers.LTXImageToVideoPipeline(
        transformer=transformer,
        vae=vae,
        scheduler=diffusers.FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
    )


def wan_vae(
    diffusers: ModuleType, *, base_dim: int, dim_mult: list[int], num_res_blocks: int
) -> Any:
    """Wan 2.2 TI2V's VAE layout (48 latent channels, 16x spatial and 4x temporal compression,
    2x2 patches) at the width given: published (160, [1, 2, 4, 4], 2) or tiny."""
    return diffusers.AutoencoderKLWan(
        base_dim=base_dim,
        z_dim=48,
        in_channels=12,
        out_channels=12,
        is_residual=True,
        patch_size=2,
        latents_mean=[0.0] * 48,
        latents_std=[1.0] * 48,
        dim_mult=dim_mult,
        num_res_blocks=num_res_blocks,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        temperal_downsample=[False, True, True],
    )


def tiny_wan(torch: ModuleType, diffusers: ModuleType) -> Any:
    """A Wan 2.2 TI2V-style image-to-video pipeline with a two-layer transformer and a tiny T5."""
    torch.manual_seed(0)
    vae = wan_vae(diffusers, base_dim=3, dim_mult=[1, 1, 1, 1], num_res_blocks=1).eval()
    transformer = diffusers.WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=48,
        out_channels=48,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    ).eval()
    scheduler = diffusers.UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )
    text_encoder, tokenizer = tiny_t5(torch)
    return diffusers.WanImageToVideoPipeline(
        transformer=transformer,
        vae=vae,
        scheduler=scheduler,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer_2=None,
        image_encoder=None,
        image_processor=None,
        expand_timesteps=True,
    )


TINY_PIPELINES: dict[str, Callable[[ModuleType, ModuleType], Any]] = {
    "svd": tiny_svd,
    "ltx": tiny_ltx,
    "wan": tiny_wan,
}
