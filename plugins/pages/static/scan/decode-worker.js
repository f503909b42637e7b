// Reads QR codes from camera frames off the page's thread with the vendored jsQR (static/vendor/jsQR.js, used
// when the browser has no BarcodeDetector). Receives {id, width, height, pixels} (RGBA), answers {id, text|null}.
importScripts("../vendor/jsQR.js");

self.onmessage = (event) => {
  const {id, width, height, pixels} = event.data;
  const found = self.jsQR(new Uint8ClampedArray(pixels), width, height, {inversionAttempts: "dontInvert"});
  self.postMessage({id, text: found ? found.data : null});
};
