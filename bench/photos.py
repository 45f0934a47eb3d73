"""Deterministic photo-like test images, shared by every benchmark."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFilter

SOURCE_JPEG_QUALITY = 90
SEED = 20240601
# Width and height of the photos, by megapixels.
SIZES_PX: dict[int, tuple[int, int]] = {2: (1600, 1200), 12: (4000, 3000), 24: (6000, 4000)}


def make_photo(size_px: tuple[int, int], seed: int) -> Image.Image:
    """A deterministic stand-in for a camera photo.

    Flat synthetic images compress to almost nothing and decode unrealistically fast;
    gradients, sharp shapes and sensor-like noise give JPEG data of a realistic size.
    """
    rng = random.Random(seed)
    width, height = size_px
    # Each channel gets a differently oriented ramp so the result has colour, not just grey.
    ramp = Image.linear_gradient("L")
    radial = Image.radial_gradient("L")
    channels = [
        ramp.rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR, fillcolor=128),
        radial.transform(
            radial.size,
            Image.Transform.AFFINE,
            (rng.uniform(0.5, 1.5), 0, rng.uniform(-64, 64), 0, rng.uniform(0.5, 1.5), 0),
            resample=Image.Resampling.BILINEAR,
            fillcolor=255,
        ),
        ramp.rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR, fillcolor=64),
    ]
    image = Image.merge("RGB", [c.resize(size_px, Image.Resampling.BICUBIC) for c in channels])

    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(12, 24)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = min(width, x0 + rng.randrange(width // 20, width // 3))
        y1 = min(height, y0 + rng.randrange(height // 20, height // 3))
        fill = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
    for _ in range(rng.randint(8, 16)):
        points = [(rng.randrange(width), rng.randrange(height)) for _ in range(2)]
        draw.line(points, fill=(rng.randrange(256),) * 3, width=rng.randint(2, 12))
    # A slight blur keeps edges crisp but no longer aliased, like a real lens.
    image = image.filter(ImageFilter.GaussianBlur(radius=1.2))

    noise = Image.frombytes("RGB", size_px, rng.randbytes(width * height * 3))
    # Enough noise that a 12 MP original lands near 3 MiB, like a phone photo at quality 90.
    return Image.blend(image, noise, alpha=0.12)
