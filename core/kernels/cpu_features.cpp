#include "core/kernels/cpu_features.hpp"

#include <atomic>
#include <cstdlib>
#include <string_view>

namespace convoy {
namespace {

Isa detect() {
  __builtin_cpu_init();
  Isa best = Isa::generic;
  if (isa_supported(Isa::avx512)) best = Isa::avx512;
  else if (isa_supported(Isa::avx2)) best = Isa::avx2;
  if (const char* env = std::getenv("CONVOY_ISA")) {
    const std::string_view want(env);
    if (want == "generic") return Isa::generic;
    if (want == "avx2" && isa_supported(Isa::avx2)) return Isa::avx2;
    if (want == "avx512" && isa_supported(Isa::avx512)) return Isa::avx512;
  }
  return best;
}

std::atomic<Isa>& current() {
  static std::atomic<Isa> isa{detect()};
  return isa;
}

}  // namespace

bool isa_supported(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::generic: return true;
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  }
  return false;
}

Isa active_isa() { return current().load(std::memory_order_relaxed); }

bool set_isa(Isa isa) {
  if (!isa_supported(isa)) return false;
  current().store(isa);
  return true;
}

std::string isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic: return "generic";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

}  // namespace convoy
