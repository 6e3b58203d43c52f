#!/usr/bin/env bash
# Installs every Debian package Convoy needs to build, test and train. Idempotent:
# packages already present are skipped and `apt-get update` runs only when needed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenmpi-dev openmpi-bin
  # .ci/run also runs the MPI tests against MPICH (Open MPI stays the default mpirun and mpicc:
  # Debian ranks it higher), reusing the other objects through ccache.
  libmpich-dev mpich ccache
  libhdf5-dev
  libboost-serialization-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libxxhash-dev zlib1g-dev libstb-dev libpng-dev libjpeg62-turbo-dev
  dataset-fashion-mnist
  # .ci/fuzz: libFuzzer targets built with clang (its OpenMP and its sanitizer/fuzzer runtimes)
  clang libomp-dev libclang-rt-14-dev
  gnuplot-nox
  # The checks .ci/run runs (.ci/README.md): formatting, clang-tidy, the symbolizer for
  # sanitizer reports, and the Python of the Note check.
  clang-format-14 clang-tidy-14 llvm-14 python3
)
# Only for the PyTorch comparisons (apps/bench/compare_pytorch.py, core/zoo/*.py; large: about 170 packages).
if [ "${CONVOY_WITH_PYTORCH:-0}" = 1 ]; then
  packages+=(python3-torch python3-torchvision python3-h5py libopenblas0-pthread)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Try without refreshing the package lists first; refresh only if that fails
# (a fresh machine has empty lists, a kept one usually has current ones).
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
