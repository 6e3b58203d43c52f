// CPU feature selection: which vector kernels this machine runs (AVX-512, AVX2, or portable).
#pragma once

#include <string>

namespace convoy {

enum class Isa { generic, avx2, avx512 };

// The best ISA this CPU supports, or the one CONVOY_ISA (generic, avx2, avx512) asks for, if
// supported. Read once per process.
Isa active_isa();

// For tests: run the kernels with this ISA from now on (must be supported; returns false if not).
bool set_isa(Isa isa);
bool isa_supported(Isa isa);

std::string isa_name(Isa isa);

}  // namespace convoy
