"""The facial-emotion network: a VGG-style CNN with batch norm, sized by `width`.

One definition serves the shipped student (narrow, ~1 ms on a CPU as TFLite) and the wider
teachers it is distilled from; only `width` and `blocks` change.
"""
from __future__ import annotations

import keras
from keras import layers

from recommender.types import EMOTIONS

NUM_CLASSES = len(EMOTIONS)
INPUT_SHAPE = (48, 48, 1)


def conv_bn_relu(x, filters: int):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build_emotion_net(width: int = 32, blocks: tuple[int, ...] = (1, 2, 2, 2), dropout: float = 0.4,
                      name: str = "emotion_net") -> keras.Model:
    """Input (48, 48, 1) in [0, 1]; output softmax over the 7 FER-2013 emotions.

    Stage i has `blocks[i]` 3×3 convs of `width·2^i` filters and ends in a 2×2 max-pool
    (except the last, which ends in global average pooling).
    """
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = inputs
    for stage, n in enumerate(blocks):
        for _ in range(n):
            x = conv_bn_relu(x, width * 2**stage)
        if stage < len(blocks) - 1:
            x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=name)


ARCHS = {
    # name: (width, blocks)
    "student": (32, (1, 2, 2, 2)),
    "student-s": (24, (1, 2, 2, 2)),
    "student-l": (48, (1, 2, 2, 2)),
    "teacher": (64, (2, 2, 3, 3)),
}


def build_arch(arch: str, dropout: float = 0.4) -> keras.Model:
    width, blocks = ARCHS[arch]
    return build_emotion_net(width, blocks, dropout, name=f"emotion_{arch.replace('-', '_')}")
