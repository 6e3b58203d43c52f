// Validators for command-line numbers and words: a bad value is a usage error (exit code 2)
// whose message names the option, the accepted range and what was given.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include <CLI/CLI.hpp>

namespace convoy {

// A decimal integer in [min, max]: no sign on unsigned ranges, no exponent, no hex or octal
// prefix, no overflow ("18446744073709551616" and "1e23" are refused, not wrapped or rounded).
CLI::Validator integer_in(int64_t min, int64_t max);
CLI::Validator unsigned_integer();  // [0, 2^64 - 1], for seeds

// A finite number (not nan or inf) with min < value (or min <= value when min_inclusive) and
// value <= max (or value < max when !max_inclusive).
CLI::Validator number_in(double min, bool min_inclusive, double max, bool max_inclusive);

// One of the listed words, exactly.
CLI::Validator one_of(std::initializer_list<const char*> words);

}  // namespace convoy
