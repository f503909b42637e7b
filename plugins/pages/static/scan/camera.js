// The camera: the back camera's video read a few times a second by the browser's BarcodeDetector, or, when the
// browser has none, by the vendored jsQR in a worker. The same text seen again within `DEBOUNCE_MS` is one scan.

const DEBOUNCE_MS = 2000;
const FRAME_MS = 150;
const MAX_SIDE = 800;  // frames are scaled down to this for the decoder

export class Camera {
  // `onCode(text)` is called once per new code; `decoderWorker` is the URL of decode-worker.js.
  constructor(video, decoderWorker, onCode) {
    this.video = video;
    this.decoderWorker = decoderWorker;
    this.onCode = onCode;
    this.stream = null;
    this.timer = null;
    this.last = {text: null, at: 0};
    this.busy = false;
  }

  get running() {
    return this.stream !== null;
  }

  async start() {
    if (this.running) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error("no camera API");
    this.stream = await navigator.mediaDevices.getUserMedia({audio: false, video: {facingMode: {ideal: "environment"}}});
    this.video.srcObject = this.stream;
    await this.video.play();
    this.read = await this.reader();
    this.timer = setInterval(() => this.tick(), FRAME_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.srcObject = null;
  }

  // A function frame -> Promise<text|null>: BarcodeDetector when the browser has one for QR codes, else jsQR.
  async reader() {
    if ("BarcodeDetector" in window) {
      const formats = await window.BarcodeDetector.getSupportedFormats().catch(() => []);
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({formats: ["qr_code"]});
        return async (source) => {
          const codes = await detector.detect(source);
          return codes.length ? codes[0].rawValue : null;
        };
      }
    }
    const worker = new Worker(this.decoderWorker);
    const waiting = new Map();
    let next = 0;
    worker.onmessage = (event) => {
      const resolve = waiting.get(event.data.id);
      waiting.delete(event.data.id);
      if (resolve) resolve(event.data.text);
    };
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", {willReadFrequently: true});
    return (source) => {
      const scale = Math.min(1, MAX_SIDE / Math.max(source.videoWidth, source.videoHeight));
      canvas.width = Math.round(source.videoWidth * scale);
      canvas.height = Math.round(source.videoHeight * scale);
      context.drawImage(source, 0, 0, canvas.width, canvas.height);
      const frame = context.getImageData(0, 0, canvas.width, canvas.height);
      const id = ++next;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        worker.postMessage({id, width: frame.width, height: frame.height, pixels: frame.data.buffer},
                           [frame.data.buffer]);
      });
    };
  }

  async tick() {
    if (this.busy || !this.running || this.video.readyState < 2 || !this.video.videoWidth) return;
    this.busy = true;
    try {
      const text = await this.read(this.video);
      if (text) this.seen(text);
    } catch (error) {
      // a frame the decoder could not read: try the next one
    } finally {
      this.busy = false;
    }
  }

  // One scan per code: the same text within DEBOUNCE_MS of its last sighting is the code still in view.
  seen(text) {
    const now = Date.now();
    const again = text === this.last.text && now - this.last.at < DEBOUNCE_MS;
    this.last = {text, at: now};
    if (!again) this.onCode(text);
  }
}
