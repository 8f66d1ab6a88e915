// ASCII character classes for reading names, file names and expressions:
// the same whatever the locale (std::isdigit and friends depend on it, and
// take only unsigned char values).
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include <algorithm>
#include <string_view>

namespace capture {

/// '0' to '9'. Throws nothing.
inline bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// True when s is one or more ASCII digits. Throws nothing.
inline bool all_ascii_digits(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_ascii_digit);
}

/// '0' to '9', 'a' to 'f' and 'A' to 'F'. Throws nothing.
inline bool is_ascii_hex_digit(char c) noexcept {
    return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// True when text is a non-empty run of hexadecimal digits (either case). Throws nothing.
inline bool is_hex(std::string_view text) noexcept {
    return !text.empty() && std::all_of(text.begin(), text.end(), is_ascii_hex_digit);
}

}  // namespace capture
