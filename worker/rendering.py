"""Geometry and resizing: where each rendition comes from, and one resize per rendition.

Sizes are computed against the original's upright dimensions, so a rendition is the same
whatever scale ``draft()`` decoded at. Renditions are made largest first, and each is
resized from the smallest full-frame image already made that still has enough pixels
(the cascade), so a 640 rendition is resampled from the 1280 one, not from 24 megapixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from infra.renditions import Fit, RenditionSpec

# Pillow first reduces by an integer factor (cheap box filter) until the image is this
# many times the target, then finishes with LANCZOS; 3.0 is indistinguishable from a
# full LANCZOS resample (Pillow's documentation) at a fraction of the cost.
REDUCING_GAP = 3.0
RESAMPLE = Image.Resampling.LANCZOS


@dataclass(frozen=True, slots=True)
class Plan:
    """A rendition as a crop of the upright original (``box``) resized to ``size``."""

    spec: RenditionSpec
    box: tuple[float, float, float, float]
    size: tuple[int, int]

    @property
    def scale(self) -> float:
        """Output pixels per original pixel; at most 1, since we never upscale."""
        return self.size[0] / (self.box[2] - self.box[0])

    @property
    def full_frame(self) -> bool:
        return self.spec.fit is Fit.CONTAIN


def plan(spec: RenditionSpec, width: int, height: int) -> Plan:
    """Where ``spec`` comes from in an upright ``width`` x ``height`` original."""
    if spec.fit is Fit.CONTAIN:
        scale = min(spec.width / width, spec.height / height, 1.0)
        return Plan(spec, (0, 0, width, height), scaled_size(width, height, scale))
    scale = max(spec.width / width, spec.height / height)
    if scale > 1.0:
        # Filling the box would mean upscaling: keep its aspect, at the original's scale.
        shrink = min(width / spec.width, height / spec.height)
        size = (max(1, round(spec.width * shrink)), max(1, round(spec.height * shrink)))
        crop_w, crop_h = float(size[0]), float(size[1])
    else:
        size = (spec.width, spec.height)
        crop_w, crop_h = spec.width / scale, spec.height / scale
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    return Plan(spec, (left, top, left + crop_w, top + crop_h), size)


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    return max(1, round(width * scale)), max(1, round(height * scale))


def draft_size(plans: list[Plan], width: int, height: int) -> tuple[int, int]:
    """The smallest decode that still serves every plan, in the original's own pixels."""
    scale = max(p.scale for p in plans)
    return math.ceil(width * scale), math.ceil(height * scale)


@dataclass
class Cascade:
    """Full-frame images made so far, any of which can be the source of a smaller one."""

    upright_size: tuple[int, int]
    sources: list[Image.Image]

    def render(self, target: Plan) -> Image.Image:
        source = self._smallest_source_for(target)
        fx = source.width / self.upright_size[0]
        fy = source.height / self.upright_size[1]
        left, top, right, bottom = target.box
        box = (left * fx, top * fy, right * fx, bottom * fy)
        if target.size == source.size and box == (0, 0, source.width, source.height):
            image = source
        else:
            image = source.resize(target.size, RESAMPLE, box=box, reducing_gap=REDUCING_GAP)
        if target.full_frame:
            self.sources.append(image)
        return image

    def _smallest_source_for(self, target: Plan) -> Image.Image:
        # A source needs at least as many pixels across the crop as the output has.
        width = self.upright_size[0]
        usable = [s for s in self.sources if s.width / width >= target.scale - 1e-9]
        return min(usable, key=lambda s: s.width) if usable else self.sources[0]
