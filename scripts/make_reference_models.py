#!/usr/bin/env python3
"""Makes the tiny wav2vec2 fixture checkpoints and their PyTorch reference outputs.

    python3 scripts/make_reference_models.py            # rewrites Fixtures/models/tiny-*
    python3 scripts/make_reference_models.py --benchmark DIR
        # wav2vec2-base config, random weights: DIR/model (config.json + model.safetensors)
        # and DIR/model.onnx, for scripts/bench_runtime

Needs `pip install torch==2.13.0 transformers safetensors` (and onnx for --benchmark). CI never
runs this: the tests read the committed outputs. Each fixture folder holds config.json and
model.safetensors exactly as Hugging Face saves them (with the weight-norm spelling changed where
a fixture tests the older one), plus reference.safetensors: `input` (samples), `hidden_state.N`
(the encoder's input and each layer's output, as transformers returns them), `last_hidden_state`,
and `logits` or `alpha` for the heads.
"""
import argparse
import json
import math
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import Wav2Vec2Config, Wav2Vec2ForSequenceClassification, Wav2Vec2Model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMOTIONS = ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"]


class EmoBakeWav2Vec2Dirichlet(torch.nn.Module):
    """Our Stage-1 head (DESIGN.md): backbone -> mean over frames -> FC(K) -> alpha = x^2 + 1e-6."""

    def __init__(self, config):
        super().__init__()
        self.wav2vec2 = Wav2Vec2Model(config)
        self.head = torch.nn.Linear(config.hidden_size, len(EMOTIONS))

    def forward(self, samples):
        output = self.wav2vec2(samples, output_hidden_states=True)
        x = self.head(output.last_hidden_state.mean(dim=1))
        return output, x * x + 1e-6


def tiny_config(stable):
    # Odd sizes on purpose: 12 conv channels, hidden 36 = 4 heads x 9, intermediate 50,
    # an even positional-conv kernel (the same-pad layer drops one frame).
    return Wav2Vec2Config(
        hidden_size=36, num_hidden_layers=2, num_attention_heads=4, intermediate_size=50,
        conv_dim=(12, 12, 12, 12), conv_kernel=(10, 3, 3, 2), conv_stride=(5, 2, 2, 2),
        conv_bias=stable, feat_extract_norm="layer" if stable else "group", do_stable_layer_norm=stable,
        num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4, layer_norm_eps=1e-5,
        hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
        final_dropout=0.0, layerdrop=0.0, vocab_size=8, classifier_proj_size=20,
    )


def perturb(module, seed):
    """Random init leaves norms at 1/0 and biases at 0; move every parameter so each one matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in sorted(module.named_parameters()):
            noise = torch.randn(parameter.shape, generator=generator) * 0.1
            parameter.add_(noise)


def test_input(count, seed):
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(count, dtype=torch.float64) / 16000
    signal = 0.3 * torch.sin(2 * math.pi * 220 * t) + 0.2 * torch.sin(2 * math.pi * 1375 * t + 0.5)
    signal = signal * (0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t))
    return (signal + 0.05 * torch.randn(count, generator=generator, dtype=torch.float64)).float()


def state_dict_with_spelling(module, spelling):
    """transformers saves `parametrizations.weight.original0/1`; older checkpoints `weight_g/weight_v`."""
    state = {name: tensor.detach().contiguous().clone() for name, tensor in module.state_dict().items()}
    if spelling == "weight_g":
        renamed = {}
        for name, tensor in state.items():
            name = name.replace("parametrizations.weight.original0", "weight_g")
            name = name.replace("parametrizations.weight.original1", "weight_v")
            renamed[name] = tensor
        state = renamed
    assert any(spelling in name for name in state), spelling
    return state


def save(folder, config_dict, state, reference):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as handle:
        json.dump(config_dict, handle, indent=2, sort_keys=True)
        handle.write("\n")
    save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    save_file({k: v.detach().clone().contiguous() for k, v in reference.items()}, os.path.join(folder, "reference.safetensors"))
    print(folder, {k: tuple(v.shape) for k, v in reference.items()})


def hidden_reference(samples, output):
    reference = {"input": samples[0], "last_hidden_state": output.last_hidden_state[0]}
    for index, hidden in enumerate(output.hidden_states):
        reference[f"hidden_state.{index}"] = hidden[0]
    return reference


def make_fixtures():
    torch.manual_seed(0)
    models = os.path.join(ROOT, "Fixtures", "models")

    # 1. Base layout (group-norm feature encoder, post-norm transformer), old weight-norm
    #    spelling, our Dirichlet head.
    config = tiny_config(stable=False)
    model = EmoBakeWav2Vec2Dirichlet(config).eval()
    perturb(model, 1)
    samples = test_input(4999, 11)[None]
    with torch.no_grad():
        output, alpha = model(samples)
    reference = hidden_reference(samples, output)
    reference["alpha"] = alpha[0]
    config_dict = config.to_dict()
    config_dict["architectures"] = ["EmoBakeWav2Vec2Dirichlet"]
    config_dict["emotions"] = EMOTIONS
    config_dict["head"] = "dirichlet"
    save(os.path.join(models, "tiny-wav2vec2-base-dirichlet"), config_dict, state_dict_with_spelling(model, "weight_g"), reference)

    # 2. Stable-layer-norm layout (layer-norm feature encoder, pre-norm transformer), current
    #    spelling, bare Wav2Vec2Model.
    config = tiny_config(stable=True)
    model = Wav2Vec2Model(config).eval()
    perturb(model, 2)
    samples = test_input(6001, 12)[None]
    with torch.no_grad():
        output = model(samples, output_hidden_states=True)
    config_dict = config.to_dict()
    config_dict["architectures"] = ["Wav2Vec2Model"]
    save(os.path.join(models, "tiny-wav2vec2-stable"), config_dict, state_dict_with_spelling(model, "original0"),
         hidden_reference(samples, output))

    # 3. Wav2Vec2ForSequenceClassification (projector + classifier, weighted layer sum) on the
    #    base layout, as speech-emotion checkpoints on the Hub are.
    config = tiny_config(stable=False)
    config.use_weighted_layer_sum = True
    config.num_labels = 4
    config.id2label = {0: "angry", 1: "happy", 2: "neutral", 3: "sad"}
    config.label2id = {v: k for k, v in config.id2label.items()}
    config.architectures = ["Wav2Vec2ForSequenceClassification"]
    model = Wav2Vec2ForSequenceClassification(config).eval()
    perturb(model, 3)
    samples = test_input(5500, 13)[None]
    with torch.no_grad():
        output = model(samples, output_hidden_states=True)
        base = model.wav2vec2(samples, output_hidden_states=True)
    reference = hidden_reference(samples, base)
    reference["logits"] = output.logits[0]
    save(os.path.join(models, "tiny-wav2vec2-classifier"), config.to_dict(), state_dict_with_spelling(model, "original0"), reference)
    with open(os.path.join(models, "tiny-wav2vec2-classifier", "preprocessor_config.json"), "w") as handle:
        json.dump({"do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "sampling_rate": 16000}, handle, indent=2, sort_keys=True)
        handle.write("\n")


def make_benchmark(folder):
    """wav2vec2-base with random weights and our Dirichlet head (so `emobake predict` runs it);
    the peers load the backbone from the same file (`wav2vec2.` prefix stripped)."""
    torch.manual_seed(0)
    config = Wav2Vec2Config()  # wav2vec2-base: 12 layers, hidden 768, group-norm feature encoder
    model = EmoBakeWav2Vec2Dirichlet(config).eval()
    os.makedirs(os.path.join(folder, "model"), exist_ok=True)
    config_dict = config.to_dict()
    config_dict["architectures"] = ["EmoBakeWav2Vec2Dirichlet"]
    config_dict["emotions"] = EMOTIONS
    config_dict["head"] = "dirichlet"
    with open(os.path.join(folder, "model", "config.json"), "w") as handle:
        json.dump(config_dict, handle, indent=2, sort_keys=True)
    save_file(state_dict_with_spelling(model, "original0"), os.path.join(folder, "model", "model.safetensors"), metadata={"format": "pt"})
    samples = torch.randn(1, 16000)
    torch.onnx.export(model.wav2vec2, (samples,), os.path.join(folder, "model.onnx"), input_names=["input_values"],
                      output_names=["last_hidden_state"], dynamic_axes={"input_values": {1: "samples"}},
                      opset_version=17, dynamo=False)
    print("benchmark model in", folder)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--benchmark", metavar="DIR")
    arguments = parser.parse_args()
    if arguments.benchmark:
        make_benchmark(arguments.benchmark)
    else:
        make_fixtures()
