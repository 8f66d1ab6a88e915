// How a tool writes what it found: for a person on a terminal, as records
// in a pipe, or as JSON Lines (DESIGN.md "The record"; gh's behaviour).
#pragma once

#include "capture/record.hpp"
#include "capture/record_json.hpp"

#include <ostream>

namespace capture {

/// The three forms of output.
enum class output_mode { human, records, json };

/// The form to use: --json wins, then --records or --human; otherwise
/// human when stdout is a terminal and records when it is not.
inline output_mode choose_output_mode(bool json, bool records, bool human, bool stdout_is_terminal) {
    if (json) return output_mode::json;
    if (records) return output_mode::records;
    if (human) return output_mode::human;
    return stdout_is_terminal ? output_mode::human : output_mode::records;
}

/// Writes r as one line in the machine form of mode (records unless json).
inline void write_record(std::ostream& out, const record& r, output_mode mode) {
    out << (mode == output_mode::json ? format_json(r) : format_record(r)) << '\n';
}

}  // namespace capture
