import { decode, isBlurhashValid } from "blurhash";
import { useEffect, useRef } from "react";

const SIZE_PX = 32;

/** The BlurHash painted into a small canvas, stretched by CSS to the image's box. */
export function Placeholder({ hash, color, className }: { hash: string | null; color: string | null; className?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext("2d");
    if (!hash || !context || !isBlurhashValid(hash).result) return;
    const pixels = decode(hash, SIZE_PX, SIZE_PX);
    const image = context.createImageData(SIZE_PX, SIZE_PX);
    image.data.set(pixels);
    context.putImageData(image, 0, 0);
  }, [hash]);
  return (
    <canvas
      ref={canvas}
      className={`placeholder ${className ?? ""}`}
      width={SIZE_PX}
      height={SIZE_PX}
      style={{ backgroundColor: color ?? undefined }}
      aria-hidden="true"
      data-testid="placeholder"
    />
  );
}
