#!/usr/bin/env bash
# How fast `convoy convert images` imports a folder of PNG and of JPEG files, and its peak memory.
#
#   io/examples/import_speed.sh [FILES] [ROUNDS]     (defaults 2000 and 3; THREADS=2, SIZE=64x64)
#
# The files are real pictures at a photo-like size: 224x224 mosaics of 8x8 Fashion-MNIST images
# (Debian's dataset-fashion-mnist), so each holds 64 real images' detail rather than one image
# blown up (which would compress, and decode, unrealistically well). The same mosaics are written
# as PNG and as JPEG (quality 90) into ten class folders, by Pillow (Debian's python3-pil). Each
# round imports the PNG folder, then the JPEG folder, at --size SIZE in grayscale with the area
# filter; the machine's drift falls on both alike. Prints convoy's own "imported ... images/s"
# figure per round, the median per format and the largest peak RSS (/usr/bin/time).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
convoy=${CONVOY:-$root/build/release/apps/convoy}
files=${1:-2000}
rounds=${2:-3}
threads=${THREADS:-2}
size=${SIZE:-64x64}
work=$(mktemp -d /tmp/import-speed.XXXXXX)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 -c 'import PIL' 2>/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pil >/dev/null

/usr/bin/python3 - "$work" "$files" <<'EOF'
import gzip, os, sys
from PIL import Image
out, count = sys.argv[1], int(sys.argv[2])
pixels = gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").read()[16:]
for k in range(count):
    mosaic = Image.new("L", (224, 224))
    for t in range(64):
        i = (k * 64 + t) % 60000
        mosaic.paste(Image.frombytes("L", (28, 28), pixels[i * 784:(i + 1) * 784]), (28 * (t % 8), 28 * (t // 8)))
    for fmt, ext, options in (("PNG", "png", {}), ("JPEG", "jpg", {"quality": 90})):
        folder = os.path.join(out, ext, "class%d" % (k % 10))
        os.makedirs(folder, exist_ok=True)
        mosaic.save(os.path.join(folder, "%05d.%s" % (k, ext)), fmt, **options)
EOF
for ext in png jpg; do
  echo "$ext: $files files, $(du -sm "$work/$ext" | cut -f1) MB on disk"
done

for round in $(seq "$rounds"); do
  for ext in png jpg; do
    /usr/bin/time -f "rss_kb %M" -o "$work/time" "$convoy" convert images "$work/$ext" -o "$work/out.h5" \
      --size "$size" --color grayscale --resize-filter area --threads "$threads" > "$work/log" 2>&1
    rate=$(grep -o '([0-9]* images/s' "$work/log" | tr -dc 0-9)
    rss=$(grep -o 'rss_kb [0-9]*' "$work/time" | cut -d' ' -f2)
    echo "round $round $ext: $rate images/s, peak RSS $((rss / 1024)) MB"
    echo "$ext $rate $rss" >> "$work/results"
  done
done
for ext in png jpg; do
  awk -v e="$ext" '$1 == e {print $2, $3}' "$work/results" | sort -n |
    awk -v e="$ext" '{r[NR] = $1; if ($2 > m) m = $2} END {printf "%s: median %d images/s, peak RSS %d MB\n", e, r[int((NR + 1) / 2)], m / 1024}'
done
