#!/usr/bin/env python3
# Writes Fashion-MNIST samples (Debian's dataset-fashion-mnist) as PNG files, one folder per
# class: a real folder of photos for trying convoy convert images. Pure Python (zlib, struct).
# usage: fashion_mnist_to_png.py train|t10k OUT_FOLDER PER_CLASS FIRST_SAMPLE
import gzip, os, struct, sys, zlib

NAMES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

def png(path, w, h, rows):
    raw = b"".join(b"\x00" + r for r in rows)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

split, out, per_class, first = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
src = "/usr/share/datasets/fashion-mnist/"
images = gzip.open(src + split + "-images-idx3-ubyte.gz").read()[16:]
labels = gzip.open(src + split + "-labels-idx1-ubyte.gz").read()[8:]
count = [0] * 10
for i in range(first, len(labels)):
    c = labels[i]
    if count[c] >= per_class: continue
    count[c] += 1
    os.makedirs(os.path.join(out, NAMES[c]), exist_ok=True)
    px = images[i * 784:(i + 1) * 784]
    png(os.path.join(out, NAMES[c], "%05d.png" % i), 28, 28, [px[r * 28:(r + 1) * 28] for r in range(28)])
    if sum(count) == 10 * per_class: break
