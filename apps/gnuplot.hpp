// Drawing with gnuplot: convoy plot writes a gnuplot program and reads back the PNG it draws.
#pragma once

#include <string>

namespace convoy {

// Runs the gnuplot found on PATH on `script`, which must write a PNG to standard output, and
// returns the PNG's bytes. IoError when gnuplot is missing (saying how to install it), fails, or
// writes no PNG (with what it printed on standard error).
std::string run_gnuplot(const std::string& script);

// `text` as a gnuplot string literal: double-quoted, with backslashes and quotes escaped, so any
// class name can be a tic label.
std::string gnuplot_string(const std::string& text);

}  // namespace convoy
