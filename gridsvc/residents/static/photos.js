/* Photos shrunk on the phone before they travel: a 12 MP camera image is ~4 MB, too much on 3G. */
"use strict";

const Photos = (() => {
  const LONGEST_SIDE = 1600;
  const QUALITY = 0.85;

  /** Return a JPEG Blob at most 1600 px on its longest side, without EXIF (GPS, phone).

  An image the browser cannot decode (HEIC on most Android browsers) is sent as it is: the
  server reads HEIC, removes its EXIF and keeps it as JPEG.
  */
  async function downscale(file) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (error) {
      return file;
    }
    const scale = Math.min(1, LONGEST_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
    return blob || file;
  }

  return { downscale, LONGEST_SIDE };
})();
