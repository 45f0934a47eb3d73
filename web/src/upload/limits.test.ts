import { describe, expect, it } from "vitest";

import { formatLimitBytes, formatMegapixels, sizeRefusal } from "./limits";

describe("limits worded as the server words them", () => {
  // The same cases as tests/test_units.py: the page and the server must say the same.
  it.each([
    [0, "0 B"],
    [1000, "1000 B"],
    [1024, "1 KiB"],
    [1536, "1.5 KiB"],
    [25 * 1024 * 1024, "25 MiB"],
    [5 * 1024 * 1024 + 64 * 1024, "5 MiB"],
    [20 * (5 * 1024 * 1024 + 64 * 1024), "101.2 MiB"],
    [1024 ** 3 - 1, "1023.9 MiB"],
    [3 * 1024 ** 3, "3 GiB"],
  ])("%d bytes is %s", (bytes, words) => {
    expect(formatLimitBytes(bytes)).toBe(words);
  });

  it.each([
    [50_000_000, "50"],
    [1_000_000, "1"],
    [40_000, "0.04"],
    [12_345_678, "12.345678"],
  ])("%d pixels is %s megapixels", (pixels, words) => {
    expect(formatMegapixels(pixels)).toBe(words);
  });
});

describe("sizeRefusal", () => {
  const limits = { maxUploadBytes: 25 * 1024 * 1024, maxImagePixels: 50_000_000, maxFilesPerRequest: 20 };
  const file = (bytes: number) => new File([new Uint8Array(bytes)], "photo.jpg", { type: "image/jpeg" });

  it("refuses a file over the limit in the server's words, and nothing else", () => {
    expect(sizeRefusal(file(25 * 1024 * 1024 + 1), limits)).toBe("file is larger than the 25 MiB limit");
    expect(sizeRefusal(file(25 * 1024 * 1024), limits)).toBeUndefined();
    // Limits not known (yet, or from a server without them): the server judges
    expect(sizeRefusal(file(10 ** 9), undefined)).toBeUndefined();
  });
});
