import { useState, type ImgHTMLAttributes } from "react";

import { Placeholder } from "./Placeholder";

interface Props extends Omit<ImgHTMLAttributes<HTMLImageElement>, "className" | "onLoad" | "color"> {
  hash: string | null;
  color: string | null;
  /** False leaves the BlurHash out (a failed image has nothing to wait for). */
  showPlaceholder?: boolean;
}

/** The BlurHash placeholder until the image has loaded, then the image; no image without a src. */
export function ProgressiveImage({ hash, color, showPlaceholder = true, src, ...img }: Props) {
  const [loaded, setLoaded] = useState(false);
  return (
    <>
      {showPlaceholder && <Placeholder hash={hash} color={color} className={loaded ? "hidden" : ""} />}
      {src && <img src={src} {...img} className={loaded ? "" : "loading"} onLoad={() => setLoaded(true)} />}
    </>
  );
}
